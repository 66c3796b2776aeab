/**
 * The promote plan without a lab, over a model of the servers' modes (test/helpers/pair-model.ts):
 * after a failover (r active, p fenced) it rebuilds p as r's spare with setup's steps the other way
 * round; the split-brain guard, the confirmation, the dry run, a resumed run and a new host.
 */
import { describe, expect, it } from '@jest/globals';
import { promote } from '../../../plans/promote.js';
import { planExitCode } from '../../../src/cli/output.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';
import { changedTasks, stubPairModel, type PairModel } from '../../helpers/pair-model.js';
import { planSpec } from '../../helpers/plan-spec.js';

const targets = [
  fakeTarget('p', { role: 'primary' }),
  fakeTarget('r', { role: 'replica' }),
  fakeTarget('a', { role: 'agent' }),
];

// After a failover: r promoted, p demoted (passive, kill-switch on).
const afterFailover = (): PairModel => ({
  modes: { p: 'passive', r: 'active' },
  killSwitch: { p: true, r: false },
  down: [],
  flavor: 'oss',
});

describe('promote', () => {
  it("rebuilds the returned old primary as the active server's spare, setup's steps the other way round", async () => {
    const model = afterFailover();
    const spec = planSpec(targets);
    stubPairModel(spec, model);
    const result = await spec.run(promote, { new_replica: 'p' }, { yes: true });
    expect(result.steps.filter((s) => s.status === 'failure').map((s) => `${s.name}: ${s.error?.msg ?? ''}`)).toEqual(
      [],
    );
    expect(changedTasks(spec)).toEqual([
      'install_agent@p source=r',
      'setup_transfer@r receiver=p',
      'pad_serial@r',
      // The fenced old primary receives again (its kill-switch off) before the CA is sent to it.
      'set_mode@p peer=r mode=passive',
      'sync_ca@r receiver=p',
      'configure_replica@r receiver=p',
      'configure_puppetdb_broadcast@r receiver=p',
      'set_mode@r peer=p mode=active',
      'set_mode@p peer=r mode=passive',
      'install_replication@r receiver=p',
      'configure_agents@a server_list=r.example,p.example',
      'agent_check@a server_list=r.example expect_server=r.example',
      'agent_check@a server_list=p.example expect_server=p.example',
    ]);
    expect(model.modes).toEqual({ p: 'passive', r: 'active' });
    expect(model.killSwitch).toEqual({ p: false, r: false });
    expect(result.value).toEqual({ active: 'r', replica: 'p', next_steps: [] });
  });

  it('refuses with the split-brain guard while the returned server says active, also in a dry run (exit 2)', async () => {
    for (const noop of [false, true]) {
      const model = afterFailover();
      model.modes['p'] = 'active';
      model.killSwitch['p'] = false;
      const spec = planSpec(targets);
      stubPairModel(spec, model);
      const result = await spec.run(promote, { new_replica: 'p' }, { yes: true, noop });
      expect(result.steps[0]).toMatchObject({
        name: 'check',
        status: 'failure',
        error: { kind: 'pef/split-brain-guard' },
      });
      expect(result.steps[0]?.error?.msg).toMatch(/p says it is active .*\(pef task run demote -t p peer=r\)/);
      expect(changedTasks(spec)).toEqual([]);
      expect(planExitCode(result)).toBe(2);
    }
  });

  it('refuses when no server is active yet (run the failover first), naming the check (exit 2)', async () => {
    const model = afterFailover();
    model.modes['r'] = 'passive';
    const spec = planSpec(targets);
    stubPairModel(spec, model);
    const result = await spec.run(promote, { new_replica: 'p' }, { yes: true });
    expect(result.steps[0]?.error?.msg).toMatch(
      /promote refused, a prerequisite failed:\n- active server: r is passive/,
    );
    expect(changedTasks(spec)).toEqual([]);
    expect(planExitCode(result)).toBe(2);
  });

  it('without a terminal and without --yes stops at the confirmation (exit 1), nothing changed', async () => {
    const spec = planSpec(targets);
    stubPairModel(spec, afterFailover());
    const result = await spec.run(promote, { new_replica: 'p' });
    expect(result.steps.find((s) => s.status === 'failure')).toMatchObject({
      name: 'confirm',
      error: { kind: 'pef/non-interactive' },
    });
    expect(changedTasks(spec)).toEqual([]);
    expect(planExitCode(result)).toBe(1);
  });

  it('a resumed run asks again and checks again before its first change', async () => {
    let spec = planSpec(targets);
    stubPairModel(spec, afterFailover());
    let result = await spec.run(promote, { new_replica: 'p' }, { from: 'sync_ca' });
    expect(result.steps.find((s) => s.status === 'failure')).toMatchObject({
      name: 'sync_ca',
      status: 'failure',
      error: { kind: 'pef/non-interactive' },
    });
    expect(changedTasks(spec)).toEqual([]);

    const model = afterFailover();
    model.modes['p'] = 'active';
    spec = planSpec(targets);
    stubPairModel(spec, model);
    result = await spec.run(promote, { new_replica: 'p' }, { yes: true, from: 'sync_ca' });
    expect(result.steps.find((s) => s.status === 'failure')?.error?.kind).toBe('pef/split-brain-guard');
    expect(changedTasks(spec)).toEqual([]);
  });

  it('a dry run reads the servers for real, previews every step and changes no mode', async () => {
    const model = afterFailover();
    const spec = planSpec(targets);
    stubPairModel(spec, model);
    const result = await spec.run(promote, { new_replica: 'p' }, { noop: true });
    expect(result.status).toBe('success');
    expect(result.noop).toBe(true);
    expect(spec.calls.filter((c) => c.task === 'probe_status').length).toBeGreaterThanOrEqual(2);
    expect(changedTasks(spec)).toContain('set_mode@p peer=r mode=passive');
    expect(changedTasks(spec).some((c) => c.startsWith('agent_check'))).toBe(false);
  });

  it('gives a new host as the spare when the old primary is gone, and says what the inventory must name', async () => {
    const model: PairModel = {
      modes: { p: 'active', r: 'active', n: null },
      killSwitch: { p: false, r: false, n: false },
      down: ['p'],
      flavor: 'oss',
    };
    const spec = planSpec([...targets, fakeTarget('n', {})]);
    stubPairModel(spec, model);
    const result = await spec.run(promote, { new_replica: 'n' }, { yes: true });
    expect(result.steps.filter((s) => s.status === 'failure').map((s) => s.error?.msg)).toEqual([]);
    expect(changedTasks(spec)).toContain('set_mode@n peer=r mode=passive');
    expect(result.value).toMatchObject({
      active: 'r',
      replica: 'n',
      next_steps: [expect.stringMatching(/give r vars.role: primary and n vars.role: replica/)],
    });
  });

  it('PE native: promote_replica on the server to keep, keys.json before provisioning, then an orchestrated run', async () => {
    const model = afterFailover();
    model.flavor = 'pe';
    model.modes['r'] = 'passive';
    model.killSwitch['r'] = true;
    const spec = planSpec(targets);
    stubPairModel(spec, model);
    const result = await spec.run(promote, { new_replica: 'p', strategy: 'native' }, { yes: true, noop: true });
    expect(result.status).toBe('success');
    const order = changedTasks(spec).filter((c) =>
      /^(promote_replica|copy_secrets|provision_replica|run_agents_job)/.test(c),
    );
    expect(order).toEqual([
      'promote_replica@r peer=p',
      'copy_secrets@r replica=p',
      'provision_replica@r replica=p',
      'run_agents_job@r',
    ]);
  });
});
