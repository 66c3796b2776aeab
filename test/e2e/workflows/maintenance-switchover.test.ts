/**
 * examples/runbooks/maintenance-switchover.mjs --noop on the shared oss lab: status read for real,
 * the switchover's dry run (its checks run on both servers, its commands recorded), the
 * maintenance command recorded, not run. It must change nothing: the modes, the epochs, the
 * active server and the primary's Puppet Server are as they were, and the command's marker file
 * does not exist. Cost: two status reads and one switchover dry run (no JVM restart). The real
 * run there and back is not in the suite (CI time; docs/runbook-scripts.md).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ensureLab, labSh } from '../../helpers/lab.js';
import { ensureWarmSpare, MAINTENANCE_SWITCHOVER, runNode } from '../../helpers/run-cli.js';

let inventory = '';
// Each server's mode and epoch files, as the hosts hold them.
const pefFiles = async () =>
  Object.fromEntries(
    await Promise.all(
      ['primary', 'replica'].map(async (h) => [h, (await labSh(h, 'cat /etc/pef/mode /etc/pef/epoch')).stdout]),
    ),
  ) as Record<string, string>;

beforeAll(async () => {
  inventory = (await ensureLab()).inventory;
  // The suite before this one may leave a failed pass recorded (setup's failing-job check).
  // Alone, this suite makes its own warm spare.
  await ensureWarmSpare(inventory);
}, 1_500_000);

describe('maintenance-switchover.mjs --noop on the oss lab', () => {
  it('previews the switchover and the command, and changes nothing', async () => {
    const marker = `/tmp/pef-e2e-maintenance-${process.pid}`;
    const before = await pefFiles();
    const run = await runNode([
      MAINTENANCE_SWITCHOVER,
      '-i',
      inventory,
      '--noop',
      '--json',
      '--command',
      `touch ${marker}`,
    ]);
    if (run.code !== 0) throw new Error(`exited ${run.code}:\n${run.stdout}\n${run.stderr.slice(-4000)}`);
    const summary = JSON.parse(run.stdout) as {
      noop: boolean;
      switchovers: { from: string; to: string; status: string; would_run: Record<string, string[]> }[];
      command: Record<string, unknown>;
      final_status: unknown;
    };
    expect(summary.noop).toBe(true);
    expect(summary.switchovers).toHaveLength(1);
    expect(summary.switchovers[0]).toMatchObject({ from: 'primary.lab', to: 'replica.lab', status: 'success' });
    // The dry run recorded the fence (the primary's Puppet Server stopped) without making it.
    expect(summary.switchovers[0]!.would_run['fence']).toContainEqual(expect.stringMatching(/stop.* puppetserver/));
    expect(summary.command).toMatchObject({ host: 'primary.lab', command: `touch ${marker}`, status: 'success' });
    expect(summary.command).not.toHaveProperty('exit_code');
    expect(summary.final_status).toBeNull(); // a dry run reads status once, before
    expect(run.stderr).toContain(`would run on primary.lab: touch ${marker}`);
    expect(run.stderr).toContain('switch back: pef plan run switchover');

    expect(await pefFiles()).toEqual(before);
    expect((await labSh('primary', `test -e ${marker}`)).exitCode).not.toBe(0);
    expect((await labSh('primary', 'pef-lab-service status puppetserver')).exitCode).toBe(0);
  }, 600_000);
});
