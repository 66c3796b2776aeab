/**
 * The setup plan without a lab: every task is a stub (test/helpers/plan-spec.ts), so these tests
 * cover the plan's order, its parameters to each task, and the top-level changed count.
 */
import { describe, expect, it } from '@jest/globals';
import { setup } from '../../../plans/setup.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';
import { planSpec, type PlanSpec } from '../../helpers/plan-spec.js';

const pair = [fakeTarget('p', { role: 'primary' }), fakeTarget('r', { role: 'replica' })];
const withAgent = [...pair, fakeTarget('a', { role: 'agent' })];

function discovered(flavor: 'oss' | 'pe') {
  return (target: string) => ({ changed: false, value: { flavor, certname: `${target}.example` } });
}

function allowAll(spec: PlanSpec, flavor: 'oss' | 'pe', changed = false): void {
  allowAllBut(spec, flavor, [], changed);
}

function allowAllBut(spec: PlanSpec, flavor: 'oss' | 'pe', except: string[], changed = false): void {
  spec.allowTask('discover', discovered(flavor));
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
      'sync_ca',
      'pe_data',
      'pe_native_replica',
      'modes',
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
      'sync_ca',
      'set_mode',
      'set_mode',
      'configure_agents',
      'agent_check',
      'agent_check',
    ]);
    // Every stub but discover's said changed: one count per target of each of those runs.
    const changing = spec.calls.filter((c) => c.task !== 'discover');
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
    expect(result.status).toBe('success');
    expect(spec.calls.map((c) => c.task)).not.toContain('agent_check');
  });

  it('PE warm-spare: carries classification, the databases and the secrets once, recorded for status', async () => {
    const spec = planSpec(pair);
    allowAll(spec, 'pe');
    const result = await spec.run(setup);
    expect(result.status).toBe('success');
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
    expect(result.status).toBe('success');
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
});
