/**
 * The setup plan without a lab: every task is a stub (test/helpers/plan-spec.ts), so these tests
 * cover the plan's order, its parameters to each task, and the top-level changed count.
 */
import { describe, expect, it } from '@jest/globals';
import { setup } from '../../../plans/setup.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';
import { planSpec, type PlanSpec } from '../../helpers/plan-spec.js';
import { parseStatusProbe, statusProbeCommand } from '../../../src/replication/status-probe.js';
import { fakeStatusHost, jobText, statusProbeAnswer } from '../../helpers/fake-status-host.js';

const pair = [fakeTarget('p', { role: 'primary' }), fakeTarget('r', { role: 'replica' })];
const withAgent = [...pair, fakeTarget('a', { role: 'agent' })];

function discovered(flavor: 'oss' | 'pe') {
  return (target: string) => ({ changed: false, value: { flavor, certname: `${target}.example` } });
}

function allowAll(spec: PlanSpec, flavor: 'oss' | 'pe', changed = false): void {
  allowAllBut(spec, flavor, [], changed);
}

// What probe_status reads on a healthy oss pair p (active) and r (passive), as the real probe prints it.
const NOW = Date.parse('2026-06-01T12:00:00Z') / 1000;
const recent = new Date((NOW - 5) * 1000).toISOString();
function healthyProbe(target: string) {
  const host =
    target === 'p'
      ? fakeStatusHost('p', 'active', {
          answers: { p: true, r: true },
          puppetdbConf: '[main]\nserver_urls = https://p:8081,https://r:8081\ncommand_broadcast = true\n',
          jobs: { 'sync_ca.state': jobText({ job: 'sync_ca', lastRun: recent, lastSuccess: recent }) },
        })
      : fakeStatusHost('r', 'passive', {
          answers: { p: true, r: true },
          jobs: {
            'receive_ca.state': jobText({ job: 'receive_ca', role: 'receive', lastRun: recent, lastSuccess: recent }),
          },
        });
  const answer = statusProbeAnswer(host, statusProbeCommand({ servers: ['p', 'r'] }));
  return { changed: false, value: { ...parseStatusProbe(answer ?? '') } };
}

function allowAllBut(spec: PlanSpec, flavor: 'oss' | 'pe', except: string[], changed = false): void {
  spec.allowTask('discover', discovered(flavor));
  if (!except.includes('probe_status')) spec.allowTask('probe_status', healthyProbe);
  if (!except.includes('compare_puppetdb'))
    spec.allowTask('compare_puppetdb', { changed: false, value: { lag: 0, missing: [], stale: [] } });
  for (const task of [
    'check_connection',
    'check_pair',
    'install_agent',
    'setup_transfer',
    'pad_serial',
    'sync_ca',
    'set_mode',
    'configure_agents',
    'agent_check',
    'dump_nc',
    'restore_nc',
    'dump_db',
    'restore_db',
    'copy_secrets',
    'record_job',
    'provision_replica',
    'infra_status',
    'configure_replica',
    'configure_puppetdb_broadcast',
    'install_replication',
  ].filter((t) => !except.includes(t)))
    spec.allowTask(task, { changed });
}

describe('setup', () => {
  it('runs the steps in order and counts the task results that changed a host', async () => {
    const spec = planSpec(withAgent);
    allowAll(spec, 'oss', true);
    const result = await spec.run(setup);
    expect(result.status).toBe('success');
    expect(result.steps.map((s) => s.name)).toEqual([
      'preflight',
      'install_agent',
      'setup_transfer',
      'pad_serial',
      'receive',
      'sync_ca',
      'replica_servers',
      'seed_puppetdb',
      'stream_puppetdb',
      'pe_data',
      'pe_native_replica',
      'modes',
      'replication',
      'agents',
      'verify',
    ]);
    const order = spec.calls.map((c) => c.task).filter((t) => t !== 'discover');
    expect(order).toEqual([
      'check_connection',
      'check_pair',
      'install_agent',
      'setup_transfer',
      'pad_serial',
      'probe_status',
      'sync_ca',
      'configure_replica',
      'compare_puppetdb',
      'configure_puppetdb_broadcast',
      'set_mode',
      'set_mode',
      'install_replication',
      'configure_agents',
      'agent_check',
      'agent_check',
      'probe_status',
      'probe_status',
      'compare_puppetdb',
    ]);
    // Every stub but the read-only ones said changed: one count per target of each of those runs.
    const readOnly = ['discover', 'probe_status', 'compare_puppetdb'];
    const changing = spec.calls.filter((c) => !readOnly.includes(c.task));
    expect(result.changed).toBe(changing.reduce((n, c) => n + c.targets.length, 0));
  });

  it('reports "changed": 0 when every task found nothing to do', async () => {
    const spec = planSpec(withAgent);
    allowAll(spec, 'oss');
    expect((await spec.run(setup)).changed).toBe(0);
  });

  it('points agents at both servers by certname and checks each one compiles for them', async () => {
    const spec = planSpec(withAgent);
    allowAll(spec, 'oss');
    await spec.run(setup);
    const agentCalls = spec.calls.filter((c) => c.task === 'configure_agents' || c.task === 'agent_check');
    expect(
      agentCalls.map((c) => [c.task, c.targets, c.params[0]?.['server_list'], c.params[0]?.['expect_server']]),
    ).toEqual([
      ['configure_agents', ['a'], ['p.example', 'r.example'], undefined],
      ['agent_check', ['a'], ['p.example'], 'p.example'],
      ['agent_check', ['a'], ['r.example'], 'r.example'],
    ]);
  });

  it('makes the primary active and the oss replica passive with its CA service off', async () => {
    const spec = planSpec(pair);
    allowAll(spec, 'oss');
    await spec.run(setup);
    const modes = spec.calls.filter((c) => c.task === 'set_mode').map((c) => [c.targets, c.params[0]]);
    expect(modes).toEqual([
      [['p'], expect.objectContaining({ mode: 'active', peer: 'r', replication: 'enabled' })],
      [['r'], expect.objectContaining({ mode: 'passive', peer: 'p', replication: 'enabled', ca: 'disabled' })],
    ]);
  });

  it('refuses strategy=native on open source Puppet before changing anything', async () => {
    const spec = planSpec(pair);
    allowAll(spec, 'oss');
    const result = await spec.run(setup, { strategy: 'native' });
    expect(result.status).toBe('failure');
    expect(result.steps[0]?.error?.msg).toMatch(/open source Puppet has only strategy=warm-spare/);
    expect(spec.calls.map((c) => c.task)).not.toContain('install_agent');
  });

  it('without agents, skips the catalog checks and says how to add one', async () => {
    const spec = planSpec(pair);
    allowAll(spec, 'oss');
    const result = await spec.run(setup);
    expect(result.steps.flatMap((s) => (s.error ? [s.error.msg] : []))).toEqual([]);
    expect(spec.calls.map((c) => c.task)).not.toContain('agent_check');
  });

  it('PE warm-spare: carries classification, the databases and the secrets once, recorded for status', async () => {
    const spec = planSpec(pair);
    allowAll(spec, 'pe');
    const result = await spec.run(setup);
    expect(result.steps.find((s) => s.name === 'pe_data')?.status).toBe('success');
    const tasks = spec.calls.map((c) => c.task);
    expect(tasks).toEqual(expect.arrayContaining(['dump_nc', 'restore_nc', 'dump_db', 'restore_db', 'copy_secrets']));
    expect(tasks).not.toContain('provision_replica');
    const recorded = spec.calls.filter((c) => c.task === 'record_job').map((c) => c.params[0]?.['job']);
    expect(recorded).toEqual([
      'sync_classification',
      'receive_classification',
      'sync_rbac',
      'receive_rbac',
      'sync_orchestrator',
      'receive_orchestrator',
      'sync_secrets',
      'receive_secrets',
    ]);
    // PE's CA service is PE's to manage: the replica's mode is set without touching ca.cfg.
    expect(spec.calls.filter((c) => c.task === 'set_mode').map((c) => c.params[0]?.['ca'])).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('PE native: copies the secrets before PE provisions and enables its own replica', async () => {
    const spec = planSpec(pair);
    allowAll(spec, 'pe');
    const result = await spec.run(setup, { strategy: 'native' });
    expect(result.steps.find((s) => s.name === 'pe_native_replica')?.status).toBe('success');
    const tasks = spec.calls.map((c) => c.task);
    expect(tasks).not.toContain('dump_db');
    expect(tasks.indexOf('copy_secrets')).toBeLessThan(tasks.indexOf('provision_replica'));
    expect(spec.calls.find((c) => c.task === 'provision_replica')?.params[0]).toMatchObject({
      replica: 'r',
      enable: true,
    });
  });

  it('PE warm-spare: a kind that fails stops setup before the modes, naming it', async () => {
    const spec = planSpec(pair);
    spec.allowTask('dump_nc', { error: 'the classifier answered 503' });
    allowAllBut(spec, 'pe', ['dump_nc']);
    const result = await spec.run(setup);
    expect(result.status).toBe('failure');
    expect(result.steps.find((s) => s.name === 'pe_data')?.error?.msg).toMatch(/classification: .*503/);
    expect(result.steps.find((s) => s.name === 'modes')?.status).toBe('not-run');
  });

  it("oss: reseeds the replica's PuppetDB only when it lacks nodes", async () => {
    const lagging = planSpec(pair);
    lagging.allowTask('compare_puppetdb', { changed: false, value: { lag: 2, missing: ['a1', 'a2'], stale: [] } });
    allowAllBut(lagging, 'oss', ['compare_puppetdb']);
    await lagging.run(setup);
    expect(lagging.calls.filter((c) => c.task === 'dump_db' || c.task === 'restore_db').map((c) => c.targets)).toEqual([
      ['p'],
      ['r'],
    ]);
    const current = planSpec(pair);
    allowAll(current, 'oss');
    await current.run(setup);
    expect(current.calls.map((c) => c.task)).not.toContain('dump_db');
  });

  it('fails at verify, listing the problems, when the pair is not healthy at the end', async () => {
    const spec = planSpec(pair);
    spec.allowTask('probe_status', { error: 'connect ECONNREFUSED r:22' });
    allowAllBut(spec, 'oss', ['probe_status']);
    const result = await spec.run(setup);
    expect(result.status).toBe('failure');
    expect(result.steps.find((s) => s.name === 'verify')?.error?.msg).toMatch(/not healthy yet:\n- cannot read/);
  });
});
