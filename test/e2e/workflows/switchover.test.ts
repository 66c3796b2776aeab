/**
 * The planned switchover on the shared oss lab, through the CLI as an operator runs it: setup,
 * a certificate signed and an agent run on the primary just before, `pef plan run switchover
 * --yes` (RPO 0: the new primary holds that certificate and the agent's latest data, an agent run
 * compiles on it, and its epoch is raised past the old primary's), then the switchover back with
 * the same inventory, ending as it began: primary.lab active, status healthy. Without --yes and
 * without a terminal it refuses (exit 1) and changes nothing; --noop checks for real and changes
 * nothing. Each run's wall time goes to stderr (CI time is budgeted).
 *
 * The lab is shared by every e2e suite: when a test fails half-way, afterAll switches back to
 * primary.lab so the next suite finds the original direction. Runs after the task and replication
 * suites (test/helpers/lab-test-sequencer.mjs).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { runCli, type CliRun } from '../../helpers/run-cli.js';

let inventory = '';
const sh = async (host: string, command: string) =>
  (await labExec(host, ['sh', '-c', command], { dir: TEST_LAB_DIR, timeoutMs: 300_000 })).stdout;
const json = (run: CliRun): Record<string, unknown> => {
  try {
    return JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
};
const failedSteps = (result: Record<string, unknown>) =>
  (result['steps'] as { name: string; status: string; error?: { msg: string } }[])
    .filter((s) => s.status === 'failure')
    .map((s) => `${s.name}: ${s.error?.msg ?? ''}`);
const status = async () => json(await runCli(['status', '-i', inventory, '--format', 'json']));
const epochs = async () => (await status())['epoch'] as Record<string, number | null>;
const timed = async (what: string, args: string[]): Promise<CliRun> => {
  const started = Date.now();
  const run = await runCli(args);
  process.stderr.write(`${what}: exit ${run.code} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return run;
};
const switchover = (...extra: string[]) =>
  timed(`switchover ${extra.join(' ')}`, ['plan', 'run', 'switchover', '-i', inventory, '--format', 'json', ...extra]);

beforeAll(async () => {
  inventory = (await ensureLab()).inventory;
  const setup = await timed('setup', ['plan', 'run', 'setup', '-i', inventory, '--format', 'json', 'code=rsync']);
  expect(failedSteps(json(setup))).toEqual([]);
}, 1_800_000);

afterAll(async () => {
  if (!inventory) return;
  const doc = await status();
  if (doc['active'] === 'primary.lab' && doc['healthy'] === true) return;
  // A test failed half-way: the next suite needs the original direction.
  const back = await switchover('--yes', 'to=primary.lab');
  if (back.code !== 0) throw new Error(`putting the lab back failed (exit ${back.code}):\n${back.stdout}`);
}, 1_800_000);

describe('switchover on the oss lab', () => {
  it('refuses without a terminal and without --yes (exit 1), naming --yes, and changes nothing', async () => {
    const run = await switchover();
    expect(run.code).toBe(1);
    const result = json(run);
    expect(failedSteps(result)).toEqual([expect.stringMatching(/^confirm: .*--yes/s)]);
    expect(result['changed']).toBe(0);
    expect(await status()).toMatchObject({ active: 'primary.lab', healthy: true });
  }, 600_000);

  it('--noop runs the checks for real, previews the commands per host and changes nothing', async () => {
    const before = await epochs();
    const run = await timed('switchover --noop', ['plan', 'run', 'switchover', '-i', inventory, '--noop']);
    expect(run.stderr + run.stdout).toMatch(/check modes: ok, primary\.lab active, replica\.lab passive/);
    expect(run.code).toBe(0);
    expect(await status()).toMatchObject({ active: 'primary.lab', healthy: true, epoch: before });
  }, 1_800_000);

  it('switches to the replica with nothing lost, and an agent run compiles there', async () => {
    const before = await epochs();
    // Just before: a certificate signed and an agent run (facts, catalog, report) on the primary.
    await sh('primary', 'puppetserver ca generate --certname switchover-e2e-1.lab >/dev/null');
    await sh('agent1', 'puppet agent --test --server_list=primary.lab >/dev/null 2>&1; true');
    const run = await switchover('--yes');
    const result = json(run);
    expect(failedSteps(result)).toEqual([]);
    expect(run.code).toBe(0);
    const doc = await status();
    expect(doc).toMatchObject({ active: 'replica.lab', replica: 'primary.lab', healthy: true, problems: [] });
    expect(doc['puppetdb']).toMatchObject({ lag: 0 });
    // The promotion raised the new primary's epoch past both.
    const after = doc['epoch'] as Record<string, number | null>;
    expect(after['replica.lab']).toBeGreaterThan(Math.max(before['primary.lab'] ?? 0, before['replica.lab'] ?? 0));
    // (puppetserver 7.9's `ca list` refuses --all with --certname: the CA's inventory says it.)
    const cadir = '"$(puppet config print cadir --section server)"';
    expect(await sh('replica', `cat ${cadir}/inventory.txt`)).toContain('/CN=switchover-e2e-1.lab');
    expect(await sh('agent1', 'puppet config print server_list --section main')).toContain('replica.lab,primary.lab');
    // The new primary signs: a certificate made there now is in the old primary's copy too (reverse jobs).
    await sh('replica', 'puppetserver ca generate --certname switchover-e2e-2.lab >/dev/null');
    let copied = '';
    for (let i = 0; i < 30 && !copied.includes('switchover-e2e-2.lab'); i++) {
      await new Promise((r) => setTimeout(r, 2000));
      copied = await sh('primary', `cat ${cadir}/inventory.txt`);
    }
    expect(copied).toContain('switchover-e2e-2.lab');
  }, 1_800_000);

  it('switches back with the same inventory and ends healthy in the original direction', async () => {
    const run = await switchover('--yes');
    const result = json(run);
    expect(failedSteps(result)).toEqual([]);
    expect(run.code).toBe(0);
    expect(await status()).toMatchObject({ active: 'primary.lab', replica: 'replica.lab', healthy: true });
    expect(await sh('agent1', 'puppet config print server_list --section main')).toContain('primary.lab,replica.lab');
  }, 1_800_000);
});
