/**
 * The failover drill on the shared oss lab, through the CLI as an operator runs it: setup, an
 * agent run; a partition between the controller and the primary makes failover refuse (nothing
 * changed); `pef lab stop primary`, then `pef plan run failover --yes`: the replica is promoted,
 * the agent's run compiles on it through its own server_list, a certificate signed by the
 * promoted replica works for a new agent, and the RPO is reported per data kind; `pef lab start
 * primary` brings the old primary back, and it fences itself by epoch (the replica's promotion
 * raised it): mode fenced, its Puppet Server compiles for nobody.
 *
 * The lab is shared by every e2e suite: afterAll puts it back in its original direction with the
 * tasks, because failback does not exist yet: replica demoted, primary promoted (its epoch raised
 * past the replica's), the replica made a receiving spare, setup run again, the replica's PuppetDB
 * reseeded from the primary's, and status healthy. What the replica signed meanwhile (here only
 * the test's own certificate) is dropped; a failback plan would carry it. Each run's wall time
 * goes to stderr (CI time is budgeted). Runs after the task and replication suites (test/helpers/lab-test-sequencer.mjs).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { labHeal, labPartition } from '../../../src/lab/lab-partition.js';
import { labStart, labStop } from '../../../src/lab/lab-power.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { runCli, type CliRun } from '../../helpers/run-cli.js';

let inventory = '';
const NEW_AGENT = 'failover-new.lab';
const sh = (host: string, command: string) =>
  labExec(host, ['sh', '-c', command], { dir: TEST_LAB_DIR, timeoutMs: 300_000 });
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
const pef = async (...args: string[]) => {
  const started = Date.now();
  const run = await runCli([...args, '-i', inventory, '--format', 'json']);
  process.stderr.write(`pef ${args.join(' ')}: exit ${run.code} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return run;
};
const epochOf = async (host: string) => Number((await sh(host, 'cat /etc/pef/epoch')).stdout.trim());
const modeOf = async (host: string) => (await sh(host, "sed -n 's/^mode=//p' /etc/pef/mode")).stdout.trim();

beforeAll(async () => {
  inventory = (await ensureLab()).inventory;
  const setup = await pef('plan', 'run', 'setup', 'code=rsync');
  expect(failedSteps(json(setup))).toEqual([]);
}, 1_800_000);

afterAll(async () => {
  if (!inventory) return;
  const started = Date.now();
  await labHeal({ dir: TEST_LAB_DIR });
  await labStart('primary', { dir: TEST_LAB_DIR });
  if ((await modeOf('primary')) === 'active' && (await modeOf('replica')) === 'passive') return;
  // Back to the original direction with the tasks; a failback plan would carry what the replica
  // signed meanwhile (here only the test's own certificate, which is dropped).
  const steps: string[][] = [
    ['task', 'run', 'demote', '-t', 'replica', 'peer=primary.lab'],
    ['task', 'run', 'promote', '-t', 'primary', 'peer=replica.lab'],
    ['task', 'run', 'set_mode', '-t', 'replica', 'mode=passive', 'replication=enabled'],
    ['plan', 'run', 'setup', 'code=rsync'],
    ['task', 'run', 'dump_db', '-t', 'primary', 'databases=["puppetdb"]', 'receiver=replica.lab'],
    ['task', 'run', 'restore_db', '-t', 'replica', 'databases=["puppetdb"]'],
  ];
  for (const step of steps) {
    const run = await pef(...step);
    if (run.code !== 0) throw new Error(`restoring the lab: pef ${step.join(' ')} exited ${run.code}:\n${run.stdout}`);
  }
  const status = json(await pef('status'));
  process.stderr.write(`lab put back in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  expect(status).toMatchObject({ active: 'primary.lab', replica: 'replica.lab', healthy: true });
}, 1_800_000);

describe('failover on the oss lab', () => {
  it('refuses while the controller is cut from a primary the replica still reaches, changing nothing', async () => {
    await labPartition('primary', 'controller', { dir: TEST_LAB_DIR });
    try {
      const run = await pef('plan', 'run', 'failover', '--yes');
      expect(run.code).toBe(2);
      expect(failedSteps(json(run)).join('\n')).toMatch(/^check: .*partition.*force=true/s);
    } finally {
      await labHeal({ dir: TEST_LAB_DIR });
    }
    expect([await modeOf('primary'), await modeOf('replica')]).toEqual(['active', 'passive']);
  }, 300_000);

  it('with the primary powered off, promotes the replica; agents compile there; the RPO is reported', async () => {
    const before = await pef('task', 'run', 'agent_check', '-t', 'agents', 'expect_server=primary.lab');
    expect(before.code).toBe(0);
    const epochBefore = await epochOf('primary');
    await labStop('primary', { dir: TEST_LAB_DIR });

    const started = Date.now();
    const run = await pef('plan', 'run', 'failover', '--yes');
    const result = json(run);
    expect(failedSteps(result)).toEqual([]);
    expect(run.code).toBe(0);
    const value = result['value'] as Record<string, unknown>;
    expect(value).toMatchObject({ active: 'replica.lab', previous: 'primary.lab', primary: 'down', fenced: false });
    const rpo = value['rpo'] as { kind: string; age_s: number | null; last_success: string | null }[];
    expect(rpo.map((r) => r.kind)).toEqual(['ca', 'puppetdb']);
    expect(rpo[0]?.age_s).toEqual(expect.any(Number));
    process.stderr.write(
      `failover: ${((Date.now() - started) / 1000).toFixed(1)} s; RPO ${JSON.stringify(rpo.map((r) => [r.kind, r.age_s]))}\n`,
    );

    // The agent's own server_list now names the replica first; its run compiles there.
    const after = await pef('task', 'run', 'agent_check', '-t', 'agents', 'expect_server=replica.lab');
    expect(after.code).toBe(0);
    expect(await modeOf('replica')).toBe('active');
    expect(await epochOf('replica')).toBeGreaterThan(epochBefore);
  }, 900_000);

  it('a certificate signed by the promoted replica works for a new agent', async () => {
    // Puppet Server reads autosign.conf on every request: the replica's own CA signs the new agent.
    await sh('replica', `echo ${NEW_AGENT} > "$(puppet config print confdir)/autosign.conf"`);
    try {
      const d = '/tmp/pef-failover-new-agent';
      const agent = await sh(
        'agent1',
        `rm -rf ${d} && mkdir -p ${d} && puppet agent --test --noop --certname ${NEW_AGENT} --ssldir ${d}/ssl ` +
          `--server_list replica.lab --lastrunfile ${d}/summary.yaml --lastrunreport ${d}/report.yaml --waitforcert 0; ` +
          `rc=$?; openssl x509 -noout -issuer -subject -in ${d}/ssl/certs/${NEW_AGENT}.pem; rm -rf ${d}; exit $rc`,
      );
      expect([0, 2]).toContain(agent.exitCode);
      expect(agent.stdout).toMatch(new RegExp(`subject=CN ?= ?${NEW_AGENT.replace(/\./g, '\\.')}`));
      const signed = await sh(
        'replica',
        `grep -c "/CN=${NEW_AGENT}" "$(puppet config print cadir --section server)/inventory.txt"`,
      );
      expect(signed.stdout.trim()).toBe('1');
    } finally {
      await sh('replica', 'rm -f "$(puppet config print confdir)/autosign.conf"');
    }
  }, 600_000);

  it('the old primary, started again, fences itself by epoch: its Puppet Server compiles for nobody', async () => {
    const started = Date.now();
    await labStart('primary', { dir: TEST_LAB_DIR });
    // Its CA job's first pass asks the replica for its epoch, finds it newer, and fences this server.
    let mode = '';
    for (let i = 0; i < 90 && mode !== 'fenced'; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      mode = await modeOf('primary');
    }
    expect(mode).toBe('fenced');
    process.stderr.write(`primary fenced ${((Date.now() - started) / 1000).toFixed(1)} s after lab start\n`);
    const log = await sh('primary', 'grep "PEF: fence" /var/log/pef-replication.log | tail -1');
    expect(log.stdout).toMatch(/PEF: fence \[WARNING\]/);
    // An agent that still lists the old primary first gets no catalog from it.
    const run = await sh('agent1', 'puppet agent --test --noop --server_list=primary.lab >/dev/null 2>&1; echo rc=$?');
    expect(run.stdout).not.toMatch(/rc=(0|2)\b/);
    expect(await modeOf('replica')).toBe('active');
  }, 600_000);
});
