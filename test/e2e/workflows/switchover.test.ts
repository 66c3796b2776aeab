/**
 * The planned switchover on the shared oss lab, through the CLI as an operator runs it: setup,
 * a certificate signed and an agent run on the primary just before, `pef plan run switchover
 * --yes` (RPO 0: the new primary holds that certificate and the agent's latest data, and an agent
 * run compiles on it), then the switchover back with the same inventory, ending as it began:
 * primary.lab active, status healthy. Without --yes and without a terminal it refuses (exit 1)
 * and changes nothing.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
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
const switchover = async (...extra: string[]) => {
  const started = Date.now();
  const run = await runCli(['plan', 'run', 'switchover', '-i', inventory, '--format', 'json', ...extra]);
  process.stderr.write(
    `switchover ${extra.join(' ')}: exit ${run.code} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
  return run;
};

beforeAll(async () => {
  inventory = (await ensureLab()).inventory;
  const setup = await runCli(['plan', 'run', 'setup', '-i', inventory, '--format', 'json', 'code=rsync']);
  expect(failedSteps(json(setup))).toEqual([]);
}, 1_800_000);

describe('switchover on the oss lab', () => {
  it('refuses without a terminal and without --yes (exit 1), naming --yes, and changes nothing', async () => {
    const run = await switchover();
    expect(run.code).toBe(1);
    const result = json(run);
    expect(failedSteps(result)).toEqual([expect.stringMatching(/^confirm: .*pass --yes instead/)]);
    expect(result['changed']).toBe(0);
    expect(await status()).toMatchObject({ active: 'primary.lab', healthy: true });
  }, 600_000);

  it('--noop runs the checks for real, previews the commands per host and changes nothing', async () => {
    const run = await runCli(['plan', 'run', 'switchover', '-i', inventory, '--noop']);
    expect(run.code).toBe(0);
    expect(run.stderr + run.stdout).toMatch(/check modes: ok, primary\.lab active, replica\.lab passive/);
    expect(await status()).toMatchObject({ active: 'primary.lab', healthy: true });
  }, 1_800_000);

  it('switches to the replica with nothing lost, and an agent run compiles there', async () => {
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
    expect(await sh('replica', 'puppetserver ca list --all --certname switchover-e2e-1.lab 2>&1')).toContain(
      'switchover-e2e-1.lab',
    );
    expect(await sh('agent1', 'puppet config print server_list --section main')).toContain('replica.lab,primary.lab');
    // The new primary signs: a certificate made there now is in the old primary's copy too (reverse jobs).
    await sh('replica', 'puppetserver ca generate --certname switchover-e2e-2.lab >/dev/null');
    let copied = '';
    for (let i = 0; i < 30 && !copied.includes('switchover-e2e-2.lab'); i++) {
      await new Promise((r) => setTimeout(r, 2000));
      copied = await sh('primary', 'cat "$(puppet config print cadir --section server)/inventory.txt"');
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
