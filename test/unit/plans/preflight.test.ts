/**
 * The preflight plan without a lab: check_connection is stubbed through the plan runner's task
 * registry (test/helpers/plan-spec.ts), so these tests cover the plan's own logic.
 */
import { describe, expect, it } from '@jest/globals';
import { preflight } from '../../../plans/preflight.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';
import { planSpec } from '../../helpers/plan-spec.js';

const pair = [
  fakeTarget('p', { role: 'primary' }),
  fakeTarget('r', { role: 'replica' }),
  fakeTarget('a', { role: 'agent' }),
];

describe('preflight', () => {
  it('checks the roles, then runs check_connection as root on every target', async () => {
    const spec = planSpec(pair);
    spec
      .expectTask('check_connection')
      .withTargets('p', 'r', 'a')
      .withParams({ expect_user: 'root' })
      .returns({ changed: false, value: { user: 'root' } });
    const result = await spec.run(preflight);
    expect(result.status).toBe('success');
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([
      ['roles', 'success'],
      ['connect', 'success'],
    ]);
  });

  it('stops at roles, connecting to nothing, unless there is exactly one primary and one replica', async () => {
    for (const targets of [
      [fakeTarget('p', { role: 'primary' })],
      [...pair, fakeTarget('p2', { role: 'primary' })],
      [fakeTarget('x'), fakeTarget('r', { role: 'replica' })],
    ]) {
      const spec = planSpec(targets);
      spec.allowTask('check_connection');
      const result = await spec.run(preflight);
      expect(result.status).toBe('failure');
      expect(result.steps.map((s) => s.status)).toEqual(['failure', 'not-run']);
      expect(result.steps[0]?.error?.msg).toMatch(/exactly one target vars.role: primary and one vars.role: replica/);
      expect(spec.calls).toEqual([]);
    }
  });

  it('fails at connect naming the target that is not reachable as root, and says how to resume', async () => {
    const spec = planSpec(pair);
    spec
      .expectTask('check_connection')
      .returns((target) => (target === 'r' ? { error: 'expected user "root", got "ops"' } : { changed: false }));
    const result = await spec.run(preflight);
    expect(result.status).toBe('failure');
    expect(result.steps[1]?.error?.msg).toContain('r: expected user "root", got "ops"');
    expect(result.error?.msg).toContain('pef plan run preflight --from connect');
  });

  it('resumes at connect with --from, skipping the role check', async () => {
    const spec = planSpec([fakeTarget('only')]);
    spec.expectTask('check_connection').withTargets('only');
    const result = await spec.run(preflight, {}, { from: 'connect' });
    expect(result.steps.map((s) => s.status)).toEqual(['skipped', 'success']);
  });

  it('in noop still checks connections (check_connection changes nothing)', async () => {
    const spec = planSpec(pair);
    spec.expectTask('check_connection').withTargets('p', 'r', 'a');
    const result = await spec.run(preflight, {}, { noop: true });
    expect(result).toMatchObject({ status: 'success', noop: true });
  });
});

describe('planSpec', () => {
  it('fails the run when an expected task does not run, or runs with other params or targets', async () => {
    const missing = planSpec([fakeTarget('p', { role: 'primary' })]);
    missing.expectTask('check_connection');
    await expect(missing.run(preflight)).rejects.toThrow('task check_connection was expected to run 1 time(s), ran 0');
    const other = planSpec(pair);
    other.expectTask('check_connection').withTargets('p').withParams({ expect_user: 'ops' });
    await expect(other.run(preflight)).rejects.toThrow(
      /ran on p, r, a, expected p\n.*expected \{"expect_user":"ops"\}/,
    );
  });

  it('fails the run when a task that was not stubbed runs', async () => {
    const spec = planSpec(pair);
    await expect(spec.run(preflight)).rejects.toThrow('task check_connection ran but was neither allowed nor expected');
  });
});
