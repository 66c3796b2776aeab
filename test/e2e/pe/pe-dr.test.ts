/**
 * PE's native DR through pef on the PE lab, whose `puppet infrastructure`/`puppet access` are the
 * lab's stand-ins (docs/lab.md), which print PE's status JSON: provision → status shows the
 * replica → provision again only enables (PE's status cannot say it is enabled) and with
 * enable=false is no change → forget → promote on the replica (refused while the primary answers, then forced) →
 * no change on a second promote. The stand-in's log shows the exact argv pef used and no
 * password; the RBAC password and token appear in no CLI output or run log. The lab's one PE
 * installation is put back (primary.lab primary, no replicas) at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labExec } from '../../../src/lab/lab-exec.js';
import { forgetReplica } from '../../../tasks/forget-replica.js';
import { infraStatus } from '../../../tasks/infra-status.js';
import { promoteReplica } from '../../../tasks/promote-replica.js';
import { provisionReplica } from '../../../tasks/provision-replica.js';
import { ensurePeLab, labSupported, PE_LAB_TIMEOUT_MS, TEST_PE_LAB_DIR } from '../../helpers/lab.js';
import { runCli } from '../../helpers/run-cli.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

const maybe = labSupported() ? describe : describe.skip;
const PASSWORD = `pef-e2e-rbac-${Math.random().toString(36).slice(2)}`;
const STANDIN_LOG = '/var/log/pef-lab/pe-standin.log';

let runner: TaskRunner;
let cliDir: string;
const outputs: string[] = [];

const on = async (host: string, script: string) =>
  (await labExec(host, ['sh', '-c', script], { dir: TEST_PE_LAB_DIR, timeoutMs: 120_000 })).stdout;
const status = async (host = 'primary') => {
  const r = (await runner.task(infraStatus, host)).find(`${host}.lab`)!;
  expect(r.error).toBeUndefined();
  return r.value as { primary: string; replicas: { certname: string }[]; role: string };
};
/** The argv of every stand-in call on `host` since `since` lines. */
const standinCalls = async (host: string, since: number): Promise<string[][]> =>
  (await on(host, `tail -n +${since + 1} ${STANDIN_LOG} 2>/dev/null`))
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { argv: string[] }).argv);
const logLength = async (host: string) =>
  Number((await on(host, `wc -l < ${STANDIN_LOG} 2>/dev/null || echo 0`)).trim());

/** Back to one primary (primary.lab) and no replicas, whatever an earlier (failed) run left. */
async function resetPe(): Promise<void> {
  const s = await status();
  if (s.primary !== 'primary.lab') {
    // As PE would have it: primary.lab becomes a replica of the current primary, then is promoted.
    const provisioned = (await runner.task(provisionReplica, s.primary, { replica_certname: 'primary.lab' })).find(
      s.primary,
    )!;
    expect(provisioned.error).toBeUndefined();
    expect(
      (await runner.task(promoteReplica, 'primary', { force: true, confirm: 'replica.lab' })).find('primary.lab')!
        .error,
    ).toBeUndefined();
  }
  for (const r of (await status()).replicas) {
    expect(
      (await runner.task(forgetReplica, 'primary', { replica_certname: r.certname })).find('primary.lab')!.error,
    ).toBeUndefined();
  }
}

maybe('PE native DR wrappers (PE lab stand-ins)', () => {
  beforeAll(async () => {
    const lab = await ensurePeLab();
    runner = await taskRunner(lab.inventory);
    cliDir = mkdtempSync(join(tmpdir(), 'pef-pe-dr-'));
    writeFileSync(join(cliDir, 'package.json'), '{"name":"pe-dr-test"}');
    writeFileSync(join(cliDir, 'inventory.yaml'), readFileSync(lab.inventory, 'utf8'));
    for (const host of ['primary', 'replica'])
      await on(host, 'mkdir -p /root/.puppetlabs && echo setup-token > /root/.puppetlabs/token');
    await resetPe();
    // Start without a token, so the first provision has to log in.
    await on('primary', 'rm -f /root/.puppetlabs/token');
  }, PE_LAB_TIMEOUT_MS);

  afterAll(async () => {
    if (runner) {
      for (const host of ['primary', 'replica'])
        await on(
          host,
          'mkdir -p /root/.puppetlabs && [ -s /root/.puppetlabs/token ] || echo teardown-token > /root/.puppetlabs/token',
        );
      await resetPe().catch(() => undefined);
      // promote_replica records the promoted server's mode and epoch: the next suite gets a plain pair.
      for (const host of ['primary', 'replica']) await on(host, 'rm -f /etc/pef/mode /etc/pef/epoch');
      await runner.close();
    }
    if (cliDir) rmSync(cliDir, { recursive: true, force: true });
  }, 120_000);

  it('infra_status reads the installation: primary.lab primary, no replicas', async () => {
    expect(await status()).toMatchObject({ primary: 'primary.lab', replicas: [], role: 'primary' });
  }, 60_000);

  it('provision_replica without a token says how to give one and changes nothing', async () => {
    const r = (await runner.task(provisionReplica, 'primary', { replica: 'replica' })).find('primary.lab')!;
    expect(r.error?.msg).toMatch(
      /^No RBAC token on primary\.lab: ~\/\.puppetlabs\/token is missing or empty\..*rbac_password/s,
    );
    expect((await status()).replicas).toEqual([]);
  }, 60_000);

  it('in noop lists the login and the provision, and provisions nothing', async () => {
    const r = (
      await runner.task(provisionReplica, 'primary', { replica: 'replica', rbac_password: PASSWORD }, { noop: true })
    ).find('primary.lab')!;
    expect(r.error).toBeUndefined();
    expect(r.noop?.wouldRun).toEqual([
      '/opt/puppetlabs/bin/puppet access login --username admin --lifetime 1h',
      '/opt/puppetlabs/bin/puppet infrastructure provision replica replica.lab --yes --token-file "$HOME"/.puppetlabs/token --enable',
    ]);
    expect((await status()).replicas).toEqual([]);
  }, 60_000);

  it('provisions and enables the replica through the CLI, logging in with the password on stdin; the status shows it', async () => {
    const since = await logLength('primary');
    const run = await runCli(
      [
        'task',
        'run',
        'provision_replica',
        '-t',
        'primary',
        'replica=replica',
        '--params',
        '-',
        '--verbose',
        '-i',
        'inventory.yaml',
      ],
      {
        cwd: cliDir,
        stdin: JSON.stringify({ rbac_password: PASSWORD }),
      },
    );
    outputs.push(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    expect(await status()).toMatchObject({
      primary: 'primary.lab',
      replicas: [{ certname: 'replica.lab' }],
    });
    const calls = (await standinCalls('primary', since)).filter((a) => a[0] !== 'config');
    expect(calls).toEqual(
      expect.arrayContaining([
        ['access', 'login', '--username', 'admin', '--lifetime', '1h'],
        [
          'infrastructure',
          'provision',
          'replica',
          'replica.lab',
          '--yes',
          '--token-file',
          '/root/.puppetlabs/token',
          '--enable',
        ],
      ]),
    );
    expect(await on('primary', 'stat -c %a /root/.puppetlabs/token')).toBe('600\n');
  }, 120_000);

  it('a second provision runs no provision: enable=false is no change, enable=true only enables again', async () => {
    const since = await logLength('primary');
    const left = (await runner.task(provisionReplica, 'primary', { replica: 'replica', enable: false })).find(
      'primary.lab',
    )!;
    expect(left).toMatchObject({
      status: 'success',
      changed: false,
      value: { action: 'none', replica: 'replica.lab', provisioned: true, enabled: null },
    });
    const again = (await runner.task(provisionReplica, 'primary', { replica: 'replica' })).find('primary.lab')!;
    expect(again).toMatchObject({ status: 'success', changed: true, value: { action: 'enable', enabled: true } });
    const calls = await standinCalls('primary', since);
    expect(calls.some((a) => a[1] === 'provision')).toBe(false);
    expect(calls.filter((a) => a[1] === 'enable')).toEqual([
      ['infrastructure', 'enable', 'replica', 'replica.lab', '--yes', '--token-file', '/root/.puppetlabs/token'],
    ]);
  }, 60_000);

  it('forget_replica decommissions it, then reports no change', async () => {
    const since = await logLength('primary');
    const first = (await runner.task(forgetReplica, 'primary', { replica_certname: 'replica.lab' })).find(
      'primary.lab',
    )!;
    expect(first).toMatchObject({ changed: true, value: { action: 'forget', was_replica: true } });
    expect(await standinCalls('primary', since)).toContainEqual([
      'infrastructure',
      'forget',
      'replica.lab',
      '--token-file',
      '/root/.puppetlabs/token',
    ]);
    expect((await status()).replicas).toEqual([]);
    expect(
      (await runner.task(forgetReplica, 'primary', { replica_certname: 'replica.lab' })).find('primary.lab'),
    ).toMatchObject({ changed: false });
  }, 60_000);

  it('promote_replica refuses while the primary still answers, promotes with force, and is no change the second time', async () => {
    expect(
      (await runner.task(provisionReplica, 'primary', { replica: 'replica' })).find('primary.lab')!.error,
    ).toBeUndefined();
    const refused = (await runner.task(promoteReplica, 'replica')).find('replica.lab')!;
    expect(refused.error?.msg).toMatch(
      /^promote_replica refused on replica\.lab: the primary primary\.lab still answers on https:\/\/primary\.lab:8140/,
    );
    expect((await status()).primary).toBe('primary.lab');

    const since = await logLength('replica');
    const promoted = (await runner.task(promoteReplica, 'replica', { force: true, confirm: 'primary.lab' })).find(
      'replica.lab',
    )!;
    expect(promoted.error).toBeUndefined();
    expect(promoted).toMatchObject({ changed: true, value: { primary: 'replica.lab', former_primary: 'primary.lab' } });
    expect(await standinCalls('replica', since)).toContainEqual(['infrastructure', 'promote', 'replica', '--yes']);
    expect(await status('replica')).toMatchObject({ primary: 'replica.lab', role: 'primary' });
    expect((await runner.task(promoteReplica, 'replica')).find('replica.lab')).toMatchObject({
      changed: false,
      value: { action: 'none' },
    });
    // The old primary is no replica of the new one: nothing to forget there.
    expect(
      (await runner.task(forgetReplica, 'replica', { replica_certname: 'primary.lab' })).find('replica.lab'),
    ).toMatchObject({ changed: false });
  }, 120_000);

  it('shows the RBAC password and token nowhere: CLI output, run logs, the stand-in log', async () => {
    const token = (await on('primary', 'cat /root/.puppetlabs/token')).trim();
    expect(token.length).toBeGreaterThan(20);
    const cliLogs = readdirSync(join(cliDir, '.pef', 'logs')).map((f) =>
      readFileSync(join(cliDir, '.pef', 'logs', f), 'utf8'),
    );
    const standinLogs = [await on('primary', `cat ${STANDIN_LOG}`), await on('replica', `cat ${STANDIN_LOG}`)];
    const everything = [...outputs, ...cliLogs, runner.log(), ...standinLogs].join('\n');
    expect(everything).toContain('access login');
    expect(everything.includes(PASSWORD)).toBe(false);
    expect(everything.includes(token)).toBe(false);
  }, 60_000);
});
