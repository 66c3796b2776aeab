/**
 * provision_replica, promote_replica, forget_replica and infra_status against a small model of
 * PE's `puppet infrastructure` (its status in PE's JSON shape, which the lab stand-in prints too),
 * answering the commands the tasks send as the exported builders spell them. The e2e suite
 * (test/e2e/pe/pe-dr.test.ts) runs the same against the lab.
 */
import { describe, expect, it } from '@jest/globals';
import {
  accessLoginCommand,
  peHostProbeCommand,
  promoteReplicaCommand,
} from '../../../src/puppet/pe-infrastructure.js';
import { infraStatusCommand } from '../../../src/puppet/pe-infra-status.js';
import { runTask } from '../../../src/task/run-task.js';
import type { TaskDefinition } from '../../../src/task/task.js';
import type { CommandOptions } from '../../../src/transport/transport.js';
import { forgetReplica } from '../../../tasks/forget-replica.js';
import { infraStatus } from '../../../tasks/infra-status.js';
import { primaryAnswersCommand, promoteReplica } from '../../../tasks/promote-replica.js';
import { provisionReplica } from '../../../tasks/provision-replica.js';
import { answer, fakePuppetHost, type FakePuppetHost } from '../../helpers/fake-puppet-host.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

const PUPPET = '/opt/puppetlabs/bin/puppet';
const PASSWORD = 'rbac-password-never-shown-42';
const CERTS: Record<string, string> = { primary: 'primary.lab', replica: 'replica.lab', agent: 'agent1.lab' };

interface Pe {
  primary: string;
  replicas: Record<string, { enabled: boolean; topology: string }>;
  token: Record<string, boolean>;
  primaryAnswers: boolean;
  /** What the status probe prints instead, e.g. a timeout or a missing curl. */
  primaryReply?: string;
  fail?: { match: RegExp; exitCode: number; stderr: string };
  stdin: string[];
}

/** PE's status JSON for a primary and its replicas (trimmed: the entries pef reads). */
function peStatusJson(primary: string, replicas: readonly string[]): string {
  const entries = (server: string, mode: 'source' | 'replica') =>
    ['master', 'classifier', 'rbac', 'activity'].map((type) => ({
      service: `${type}-service`,
      state: 'running',
      status: type === 'master' ? {} : { replication: { mode, status: 'running' } },
      display_name: type,
      server,
      type,
      alerts: [],
    }));
  return JSON.stringify([...entries(primary, 'source'), ...replicas.flatMap((r) => entries(r, 'replica'))]);
}

function fakePe(initial: Partial<Pe> = {}) {
  const pe: Pe = {
    primary: 'primary.lab',
    replicas: {},
    token: { primary: true },
    primaryAnswers: false,
    stdin: [],
    ...initial,
  };
  const pef: Record<string, FakePuppetHost> = { primary: fakePuppetHost(), replica: fakePuppetHost() };
  const handler = (target: string, command: string, options: CommandOptions) => {
    const cert = CERTS[target] ?? target;
    if (options.stdin !== undefined) pe.stdin.push(options.stdin);
    if (pe.fail?.match.test(command)) return { exitCode: pe.fail.exitCode, stderr: pe.fail.stderr };
    if (command === peHostProbeCommand({ certname: true }))
      return { stdout: `pe_version=2023.8.0\ncertname=${cert}\n` };
    if (command === peHostProbeCommand({ certname: false })) return { stdout: 'pe_version=2023.8.0\n' };
    if (command === infraStatusCommand()) return { stdout: `${peStatusJson(pe.primary, Object.keys(pe.replicas))}\n` };
    if (command.startsWith('test -s ')) return { exitCode: pe.token[target] ? 0 : 1 };
    if (command.startsWith(accessLoginCommand('').split(' --username')[0] ?? '-')) {
      if (!options.stdin?.trim()) return { exitCode: 1, stderr: 'Error: No password given on stdin.' };
      pe.token[target] = true;
      return { stdout: 'Access token saved to: /root/.puppetlabs/token\n' };
    }
    if (command.includes('/status/v1/simple'))
      return { stdout: pe.primaryReply ?? (pe.primaryAnswers ? 'code=200 rc=0' : 'code=000 rc=7') };
    const needsToken = /infrastructure (provision|enable|forget) /.test(command);
    if (needsToken && (!command.includes('--token-file') || !pe.token[target]))
      return { exitCode: 1, stderr: 'Error: No valid RBAC token found.' };
    let m = /infrastructure (provision|enable) replica (\S+)/.exec(command);
    if (m) {
      const name = m[2] ?? '';
      const r = (pe.replicas[name] ??= { enabled: false, topology: 'mono' });
      if (m[1] === 'enable' || command.includes('--enable')) r.enabled = true;
      r.topology = /--topology (\S+)/.exec(command)?.[1] ?? r.topology;
      return { stdout: `Notice: ${name} provisioned\n` };
    }
    if (command.startsWith(promoteReplicaCommand())) {
      if (cert === pe.primary) return { exitCode: 1, stderr: 'Error: is the primary already' };
      pe.primary = cert;
      pe.replicas = {};
      return {};
    }
    m = /infrastructure forget (\S+)/.exec(command);
    if (m) {
      delete pe.replicas[m[1] ?? ''];
      return {};
    }
    // pef's own files (mode, epoch) and discovery: the open-source model answers them.
    const host = pef[target];
    const own = host ? answer(host, command, options) : null;
    if (own) return own;
    return { exitCode: 127, stderr: `fake PE: unexpected command ${command}` };
  };
  return { pe, handler, pef };
}

const targets = [fakeTarget('primary'), fakeTarget('replica'), fakeTarget('agent')];

async function run(
  task: TaskDefinition,
  world: ReturnType<typeof fakePe>,
  target: string,
  params: Record<string, unknown>,
  noop = false,
) {
  const fake = fakeRuntime(targets, world.handler, { noop });
  const result = (
    await runTask(
      fake.runtime,
      task,
      targets.filter((t) => t.name === target),
      params,
    )
  ).find(target)!;
  return { result, sent: fake.sent.map((s) => `${s.target}: ${s.command}`), events: fake.events };
}

describe('provision_replica', () => {
  it('provisions and enables with the exact command, reading the certname on the replica; then changed: false', async () => {
    const world = fakePe();
    const first = await run(provisionReplica, world, 'primary', { replica: 'replica', topology: 'mono-with-compile' });
    expect(first.result.error).toBeUndefined();
    expect(first.result).toMatchObject({
      changed: true,
      value: {
        replica: 'replica.lab',
        primary: 'primary.lab',
        action: 'provision',
        enabled: true,
      },
    });
    expect(first.sent).toContain(
      `primary: ${PUPPET} infrastructure provision replica replica.lab --yes --token-file "$HOME"/.puppetlabs/token --enable --topology mono-with-compile`,
    );
    expect(world.pe.replicas['replica.lab']).toEqual({ enabled: true, topology: 'mono-with-compile' });

    // PE's status cannot say the replica is enabled already: a second run enables it again, never provisions.
    const second = await run(provisionReplica, world, 'primary', { replica_certname: 'replica.lab' });
    expect(second.result).toMatchObject({ status: 'success', changed: true, value: { action: 'enable' } });
    expect(second.sent.some((c) => c.includes('provision replica'))).toBe(false);
  });

  it('leaves a provisioned replica alone with enable=false, and enables it (again) with enable=true', async () => {
    const world = fakePe({ replicas: { 'replica.lab': { enabled: false, topology: 'mono' } } });
    const left = await run(provisionReplica, world, 'primary', { replica_certname: 'replica.lab', enable: false });
    expect(left.result).toMatchObject({
      changed: false,
      value: { action: 'none', provisioned: true, enabled: null },
    });
    expect(left.sent.some((c) => / infrastructure (provision|enable) /.test(c))).toBe(false);
    const r = await run(provisionReplica, world, 'primary', {
      replica_certname: 'replica.lab',
      token_file: '/root/pe.token',
    });
    expect(r.result).toMatchObject({ changed: true, value: { action: 'enable', enabled: true } });
    expect(r.sent).toContain(
      `primary: ${PUPPET} infrastructure enable replica replica.lab --yes --token-file /root/pe.token`,
    );
  });

  it('in noop lists the command and changes nothing', async () => {
    const world = fakePe();
    const r = await run(
      provisionReplica,
      world,
      'primary',
      { replica_certname: 'replica.lab', skip_agent_config: true },
      true,
    );
    expect(r.result.noop?.wouldRun).toEqual([
      `${PUPPET} infrastructure provision replica replica.lab --yes --token-file "$HOME"/.puppetlabs/token --enable --skip-agent-config`,
    ]);
    expect(world.pe.replicas).toEqual({});
  });

  it('without a token names both ways to give one, and changes nothing', async () => {
    const world = fakePe({ token: {} });
    const r = await run(provisionReplica, world, 'primary', { replica_certname: 'replica.lab' });
    expect(r.result.error?.msg).toMatch(
      /^No RBAC token on primary: ~\/\.puppetlabs\/token is missing or empty\. Either log in there first .*or pass rbac_password/s,
    );
    expect(world.pe.replicas).toEqual({});
  });

  it('logs in with rbac_password on stdin; the password is in no command, event or result', async () => {
    const world = fakePe({ token: {} });
    const r = await run(provisionReplica, world, 'primary', {
      replica_certname: 'replica.lab',
      rbac_password: PASSWORD,
      rbac_user: 'ops',
    });
    expect(r.result.error).toBeUndefined();
    expect(r.sent).toContain(`primary: ${PUPPET} access login --username ops --lifetime 1h`);
    expect(world.pe.stdin).toEqual([`${PASSWORD}\n`]);
    expect(JSON.stringify({ sent: r.sent, events: r.events, result: r.result })).not.toContain(PASSWORD);
  });

  it('refuses to run anywhere but the primary, and to make the primary its own replica', async () => {
    const world = fakePe();
    expect(
      (await run(provisionReplica, world, 'replica', { replica_certname: 'agent1.lab' })).result.error?.msg,
    ).toMatch(/runs on the primary, and PE says that is primary\.lab, not replica\.lab \(replica\)/);
    expect((await run(provisionReplica, world, 'primary', { replica: 'primary' })).result.error?.msg).toMatch(
      /primary\.lab is this host/,
    );
    expect((await run(provisionReplica, world, 'primary', {})).result.error?.msg).toMatch(
      /needs exactly one of replica=/,
    );
    expect(world.pe.replicas).toEqual({});
  });

  it("turns PE's failure into exit code, stderr excerpt and what to do", async () => {
    const world = fakePe({
      fail: {
        match: /provision replica/,
        exitCode: 1,
        stderr: 'Notice: pef lab stand-in\nError: PuppetDB status is starting\n',
      },
    });
    const r = await run(provisionReplica, world, 'primary', { replica_certname: 'replica.lab' });
    expect(r.result.error?.msg).toMatch(
      /^provision_replica on primary: `puppet infrastructure provision replica` exited with 1:\n {2}Notice: pef lab stand-in\n {2}Error: PuppetDB status is starting\nPE may have provisioned replica\.lab in part: .*run provision_replica again/s,
    );
  });
});

describe('promote_replica', () => {
  it('refuses while the old primary answers, promotes with force, then reports no change', async () => {
    const world = fakePe({ replicas: { 'replica.lab': { enabled: true, topology: 'mono' } }, primaryAnswers: true });
    const refused = await run(promoteReplica, world, 'replica', {});
    expect(refused.result.error?.msg).toMatch(
      /^promote_replica refused on replica: the primary primary\.lab still answers on https:\/\/primary\.lab:8140.*force=true.*Nothing was changed\.$/s,
    );
    expect(world.pe.primary).toBe('primary.lab');

    const unconfirmed = await run(promoteReplica, world, 'replica', { force: true });
    expect(unconfirmed.result.error).toMatchObject({ kind: 'pef/non-interactive' });
    expect(unconfirmed.result.error?.msg).toMatch(/pass confirm=primary\.lab instead/);
    const mistyped = await run(promoteReplica, world, 'replica', { force: true, confirm: 'replica.lab' });
    expect(mistyped.result.error).toMatchObject({ kind: 'pef/split-brain-guard' });
    expect(world.pe.primary).toBe('primary.lab');

    const forced = await run(promoteReplica, world, 'replica', { force: true, confirm: 'primary.lab' });
    expect(forced.result).toMatchObject({
      changed: true,
      value: {
        primary: 'replica.lab',
        former_primary: 'primary.lab',
        primary_check: 'primary.lab still answers (force=true)',
      },
    });
    expect(forced.sent).toContain(`replica: ${PUPPET} infrastructure promote replica --yes`);
    expect(forced.sent).toContain(`replica: ${primaryAnswersCommand('primary.lab')}`);

    const again = await run(promoteReplica, world, 'replica', {});
    expect(again.result).toMatchObject({ changed: false, value: { action: 'none' } });
  });

  it('promotes without force when the primary is silent; noop promotes nothing', async () => {
    const world = fakePe({ replicas: { 'replica.lab': { enabled: true, topology: 'mono' } } });
    const preview = await run(promoteReplica, world, 'replica', {}, true);
    expect(preview.result.noop?.wouldRun).toEqual([`${PUPPET} infrastructure promote replica --yes`]);
    expect(world.pe.primary).toBe('primary.lab');
    expect((await run(promoteReplica, world, 'replica', {})).result).toMatchObject({
      changed: true,
      value: { primary_check: 'primary.lab does not answer' },
    });
    expect(world.pe.primary).toBe('replica.lab');
  });

  it.each([
    ['no curl', 'no-curl', /there is no curl on this host/],
    ['a timeout', 'code=000 rc=28', /curl could not establish it \(it timed out\)/],
    ['a name that does not resolve', 'code=000 rc=6', /the host name does not resolve/],
    ['unreadable output', '', /printed nothing usable/],
  ])('fails closed on %s: refused without force, promoted with it', async (_what, reply, why) => {
    const world = fakePe({ replicas: { 'replica.lab': { enabled: true, topology: 'mono' } }, primaryReply: reply });
    const refused = await run(promoteReplica, world, 'replica', {});
    expect(refused.result.error?.kind).toBe('pef/split-brain-guard');
    expect(refused.result.error?.msg).toMatch(why);
    expect(refused.result.error?.msg).toMatch(
      /could not establish that the primary primary\.lab is offline.*force=true/s,
    );
    expect(world.pe.primary).toBe('primary.lab');
    const forced = await run(promoteReplica, world, 'replica', { force: true, confirm: 'primary.lab' });
    expect(forced.result.value['primary_check']).toMatch(/^could not check primary\.lab: .*\(force=true\)$/);
    expect(world.pe.primary).toBe('replica.lab');
  });

  it('fails closed when the status names no primary', async () => {
    const world = fakePe({ primary: '', replicas: { 'replica.lab': { enabled: true, topology: 'mono' } } });
    const refused = await run(promoteReplica, world, 'replica', {});
    expect(refused.result.error).toMatchObject({ kind: 'pef/split-brain-guard' });
    expect(refused.result.error?.msg).toMatch(/the infrastructure status names no primary to check/);
    expect(refused.sent.some((c) => c.includes('promote replica --yes'))).toBe(false);
  });
});

describe('forget_replica', () => {
  it('forgets a replica, then reports no change; force runs forget anyway', async () => {
    const world = fakePe({ replicas: { 'replica.lab': { enabled: true, topology: 'mono' } } });
    const first = await run(forgetReplica, world, 'primary', { replica_certname: 'replica.lab' });
    expect(first.result).toMatchObject({
      changed: true,
      value: { replica: 'replica.lab', action: 'forget', was_replica: true },
    });
    expect(first.sent).toContain(
      `primary: ${PUPPET} infrastructure forget replica.lab --token-file "$HOME"/.puppetlabs/token`,
    );
    expect(world.pe.replicas).toEqual({});
    const second = await run(forgetReplica, world, 'primary', { replica_certname: 'replica.lab' });
    expect(second.result).toMatchObject({
      changed: false,
      value: { note: 'replica.lab is not a replica of primary.lab' },
    });
    const forced = await run(forgetReplica, world, 'primary', { replica_certname: 'replica.lab', force: true });
    expect(forced.result).toMatchObject({ changed: true, value: { was_replica: false } });
  });
});

describe('infra_status', () => {
  it('reads the status into the value and changes nothing, in noop too', async () => {
    const world = fakePe({ replicas: { 'replica.lab': { enabled: false, topology: 'mono' } } });
    for (const noop of [false, true]) {
      const r = await run(infraStatus, world, 'primary', {}, noop);
      expect(r.result).toMatchObject({
        changed: false,
        value: {
          this_host: 'primary.lab',
          role: 'primary',
          primary: 'primary.lab',
          replicas: [{ certname: 'replica.lab' }],
        },
      });
    }
  });
});
