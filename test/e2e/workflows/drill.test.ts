/**
 * The DR drill (issue 10, item 9) on the shared oss lab, as an operator runs it: switchover with
 * RPO 0 verified and back, through the CLI; then examples/runbooks/dr-drill.mjs (issue 11), which
 * cuts the primary's power, fails over (an agent runs on the replica, a new agent gets its
 * certificate from the promoted CA), boots the old primary (it fences itself by epoch and compiles
 * for nobody), fails back, and checks that what the outage produced is on the original primary
 * (the new agent's certificate, its exported resource collected). Runs last in the workflows group
 * (test/helpers/lab-test-sequencer.mjs): it starts from the healthy pair setup left.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { DR_DRILL, runCli, runNode, type CliRun } from '../../helpers/run-cli.js';

let inventory = '';
const sh = (host: string, command: string) =>
  labExec(host, ['sh', '-c', command], { dir: TEST_LAB_DIR, timeoutMs: 600_000 });
const json = (run: CliRun): Record<string, unknown> => {
  try {
    return JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
};
type Step = { name: string; status: string; error?: { msg: string } };
const steps = (run: CliRun) => json(run)['steps'] as Step[];
const failed = (run: CliRun) =>
  steps(run)
    .filter((s) => s.status === 'failure')
    .map((s) => `${s.name}: ${s.error?.msg ?? ''}`);
const status = async () => json(await runCli(['status', '-i', inventory, '--format', 'json']));
const plan = (name: string, ...args: string[]) =>
  runCli(['plan', 'run', name, '-i', inventory, '--format', 'json', ...args]);
const serverList = async () => (await sh('agent1', 'puppet config print server_list --section agent')).stdout.trim();
const epoch = async (host: string) => (await sh(host, "sed -n 's/^epoch=//p' /etc/pef/epoch")).stdout.trim();

beforeAll(async () => {
  inventory = (await ensureLab()).inventory;
  const doc = await status();
  // Alone (not after setup.test.ts), the drill makes its own warm spare first.
  if (doc['healthy'] !== true || doc['active'] !== 'primary.lab') {
    const setup = await plan('setup', 'code=rsync');
    expect(failed(setup)).toEqual([]);
  }
}, 1_500_000);

describe('the DR drill on the oss lab', () => {
  it('switchover refuses without a terminal and without --yes, naming the flag, before any change', async () => {
    const run = await runCli(['plan', 'run', 'switchover', '-i', inventory]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--yes/);
    expect(await status()).toMatchObject({ active: 'primary.lab', healthy: true });
  }, 600_000);

  it('switches over to the replica with RPO 0, and back, the agents following', async () => {
    const epochBefore = await epoch('replica');
    const there = await plan('switchover', '--yes');
    expect(failed(there)).toEqual([]);
    expect(there.code).toBe(0);
    expect(steps(there).find((s) => s.name === 'verify_equal')?.status).toBe('success');
    expect(await status()).toMatchObject({ active: 'replica.lab', replica: 'primary.lab', healthy: true });
    expect(Number(await epoch('replica'))).toBeGreaterThan(Number(epochBefore));
    expect(await serverList()).toMatch(/^replica\.lab(:8140)?,primary\.lab/);

    const back = await plan('switchover', '--yes');
    expect(failed(back)).toEqual([]);
    expect(back.code).toBe(0);
    expect(await status()).toMatchObject({ active: 'primary.lab', replica: 'replica.lab', healthy: true });
    expect(await serverList()).toMatch(/^primary\.lab(:8140)?,replica\.lab/);
  }, 2_400_000);

  it('dr-drill.mjs: failover on a power cut, the old primary fenced by epoch, failback with nothing lost', async () => {
    const drill = await runNode([DR_DRILL, '--lab-dir', TEST_LAB_DIR, '--skip-setup', '--json']);
    // Its stderr is the drill's own report: the whole of it when it failed.
    if (drill.code !== 0) throw new Error(`dr-drill.mjs exited ${drill.code}:\n${drill.stderr.slice(-6000)}`);
    const checks = drill.stderr.split('\n').filter((l) => l.startsWith('dr-drill: check '));
    expect(checks.filter((l) => !l.endsWith(': ok'))).toEqual([]);
    for (const what of [
      'failover',
      'an agent run compiled by replica.lab',
      "replica.lab's CA signs a new agent",
      'primary.lab fenced itself',
      'an agent listing only primary.lab gets no catalog from it',
      'failback',
      'an agent run compiled by primary.lab again',
      "'s certificate, signed during the outage, is in primary.lab's CA",
      "'s exported resource is collected on primary.lab",
      'primary.lab active again, the pair healthy',
    ])
      expect(checks.some((l) => l.includes(what) && l.endsWith(': ok'))).toBe(true);
    expect(drill.stderr).toMatch(/RTO \d+\.\d s \(failover to the first agent run on replica\.lab\)/);
    expect((await sh('primary', 'cat /var/log/pef-replication.log')).stdout).toMatch(
      /PEF: fence \[WARNING\] the peer is active with epoch \d+, newer than this server's \d+/,
    );
    expect(await status()).toMatchObject({ active: 'primary.lab', replica: 'replica.lab', healthy: true });
  }, 2_400_000);
});
