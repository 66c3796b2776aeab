/**
 * The failback plan without a lab, over a model of the servers' modes (test/helpers/pair-model.ts):
 * after a failover (r active, p fenced) r sends back to p with setup's steps, then the switchover's
 * steps make p active again; the roles end as they began. Also the split-brain guard, the
 * confirmation, the dry run and a run resumed after the replica died half-way.
 */
import { describe, expect, it } from '@jest/globals';
import { failback } from '../../../plans/failback.js';
import { planExitCode } from '../../../src/cli/output.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';
import { changedTasks, stubPairModel, type PairModel } from '../../helpers/pair-model.js';
import { planSpec } from '../../helpers/plan-spec.js';

const targets = [
  fakeTarget('p', { role: 'primary' }),
  fakeTarget('r', { role: 'replica' }),
  fakeTarget('a', { role: 'agent' }),
];

const fenced = (): PairModel => ({
  modes: { p: 'passive', r: 'active' },
  killSwitch: { p: true, r: false },
  down: [],
  flavor: 'oss',
});

describe('failback', () => {
  it('syncs back to the fenced original primary, verifies, switches over to it: roles end as they began', async () => {
    const model = fenced();
    const spec = planSpec(targets);
    stubPairModel(spec, model);
    const result = await spec.run(failback, {}, { yes: true });
    expect(result.steps.filter((s) => s.status === 'failure').map((s) => `${s.name}: ${s.error?.msg ?? ''}`)).toEqual(
      [],
    );
    const changes = changedTasks(spec);
    // The reverse sync first (r sends to p), the switchover to p after it.
    expect(changes.slice(0, 10)).toEqual([
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
    ]);
    // first_pass: recorded before the switchover's checks read the jobs' state.
    expect(changes.slice(10, 13)).toEqual(['sync_ca@r receiver=p', 'record_job@r', 'record_job@p']);
    expect(changes.filter((c) => /^(demote|promote|configure_agents|agent_check)/.test(c))).toEqual([
      'demote@r peer=p',
      'promote@p peer=r',
      'configure_agents@a server_list=p.example,r.example',
      'agent_check@a expect_server=p.example',
    ]);
    // verify_equal compared the two before the promotion.
    expect(spec.calls.findIndex((c) => c.task === 'compare_ca')).toBeLessThan(
      spec.calls.findIndex((c) => c.task === 'promote'),
    );
    expect(model.modes).toEqual({ p: 'active', r: 'passive' });
    expect(model.killSwitch).toEqual({ p: false, r: false });
  });

  it('refuses with the split-brain guard when the original primary says active, also in a dry run (exit 2)', async () => {
    for (const noop of [false, true]) {
      const model = fenced();
      model.modes['p'] = 'active';
      const spec = planSpec(targets);
      stubPairModel(spec, model);
      const result = await spec.run(failback, {}, { yes: true, noop });
      expect(result.steps[0]).toMatchObject({
        name: 'failback_check',
        status: 'failure',
        error: { kind: 'pef/split-brain-guard' },
      });
      expect(changedTasks(spec)).toEqual([]);
      expect(planExitCode(result)).toBe(2);
    }
  });

  it('refuses when the original primary cannot be read (exit 2), nothing changed', async () => {
    const model = fenced();
    model.down.push('p');
    const spec = planSpec(targets);
    stubPairModel(spec, model);
    const result = await spec.run(failback, {}, { yes: true });
    expect(result.steps[0]?.error?.msg).toMatch(
      /failback refused, a prerequisite failed:\n- new spare: p cannot be read/,
    );
    expect(changedTasks(spec)).toEqual([]);
    expect(planExitCode(result)).toBe(2);
  });

  it('without a terminal and without --yes stops at the confirmation (exit 1), nothing changed', async () => {
    const spec = planSpec(targets);
    stubPairModel(spec, fenced());
    const result = await spec.run(failback, {});
    expect(result.steps.find((s) => s.status === 'failure')).toMatchObject({
      name: 'failback_confirm',
      error: { kind: 'pef/non-interactive' },
    });
    expect(changedTasks(spec)).toEqual([]);
    expect(planExitCode(result)).toBe(1);
  });

  it("a dry run reads both servers for real, previews the rebuild and the switchover's commands, changes no mode", async () => {
    const model = fenced();
    const spec = planSpec(targets);
    stubPairModel(spec, model, ['promote']);
    spec.allowTask('promote', { error: 'promote refused on p: the peer r is reachable and still active' });
    const result = await spec.run(failback, {}, { noop: true });
    expect(result.steps.filter((s) => s.status === 'failure').map((s) => `${s.name}: ${s.error?.msg ?? ''}`)).toEqual(
      [],
    );
    expect(changedTasks(spec)).toContain('sync_ca@r receiver=p');
    expect(changedTasks(spec)).toContain('demote@r peer=p');
  });

  it('the replica dying half-way: the resumed run re-checks, and goes on from where it stopped once it is back', async () => {
    // The rebuild is done (p passive and receiving); r died before the switchover.
    const model: PairModel = { ...fenced(), killSwitch: { p: false, r: false }, down: ['r'] };
    let spec = planSpec(targets);
    stubPairModel(spec, model);
    let result = await spec.run(failback, {}, { yes: true, from: 'check' });
    expect(result.steps.find((s) => s.status === 'failure')?.error?.msg).toMatch(
      /switchover r -> p refused, a prerequisite failed:\n- modes: .*r: unknown/,
    );
    expect(changedTasks(spec)).toEqual([]);

    model.down = [];
    spec = planSpec(targets);
    stubPairModel(spec, model);
    result = await spec.run(failback, {}, { yes: true, from: 'check' });
    expect(result.steps.filter((s) => s.status === 'failure').map((s) => s.error?.msg)).toEqual([]);
    expect(changedTasks(spec)[0]).toBe('install_replication@r receiver=p');
    expect(model.modes).toEqual({ p: 'active', r: 'passive' });
  });
});
