/**
 * The failover plan without a lab: tasks are stubs (test/helpers/plan-spec.ts) answering what the
 * hosts would. What matters: a primary silent from both places is not fenced and the replica is
 * promoted; a primary pef can log in to is fenced first; a partition changes nothing unless
 * forced; --noop checks for real and fails on a failed prerequisite; --from re-checks.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failover } from '../../../plans/failover.js';
import { parseStatusProbe, statusProbeCommand } from '../../../src/replication/status-probe.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';
import { fakeStatusHost, jobText, statusProbeAnswer } from '../../helpers/fake-status-host.js';
import { planSpec, type PlanSpec, type StubAnswer } from '../../helpers/plan-spec.js';

const hosts = [
  fakeTarget('p', { role: 'primary' }),
  fakeTarget('r', { role: 'replica' }),
  fakeTarget('a', { role: 'agent' }),
];
const NOW = Date.parse('2026-06-01T12:00:00Z') / 1000;
const ago = (s: number) => new Date((NOW - s) * 1000).toISOString();
const CHANGING = ['service', 'demote', 'set_mode', 'promote', 'configure_agents'];

function probe(certname: string, mode: 'active' | 'passive', init: Parameters<typeof fakeStatusHost>[2] = {}) {
  const host = fakeStatusHost(certname, mode, init);
  return {
    changed: false,
    value: { ...parseStatusProbe(statusProbeAnswer(host, statusProbeCommand({ servers: [certname] })) ?? '') },
  };
}

const replica = probe('r.example', 'passive', {
  answers: { 'r.example': true },
  caInventory: ['0x0001 a', '0x0002 b'],
  jobs: { 'receive_ca.state': jobText({ job: 'receive_ca', role: 'receive', lastRun: ago(3), lastSuccess: ago(30) }) },
});
const ports =
  (state: string) =>
  (target: string): StubAnswer => ({
    changed: false,
    value: {
      host: 'p',
      ports:
        target === 'localhost'
          ? { 8140: { state, detail: state } }
          : { 22: { state, detail: state }, 8140: { state, detail: state } },
    },
  });

/** Stubs for a pair whose primary is `primary`: down (silent everywhere), live, or cut from the controller only. */
function pair(spec: PlanSpec, primary: 'down' | 'live' | 'cut'): void {
  spec.allowTask('probe_status', (t) =>
    t === 'r'
      ? replica
      : primary === 'live'
        ? probe('p.example', 'active', { answers: {} })
        : primary === 'down'
          ? { error: 'Cannot connect (ECONNREFUSED)', kind: 'pef/connect-failed' }
          : { error: 'no SSH handshake in 10 s', kind: 'pef/timeout' },
  );
  spec.allowTask('check_ports', (t) =>
    ports(primary === 'down' ? 'refused' : primary === 'cut' && t === 'localhost' ? 'no-answer' : 'open')(t),
  );
  spec.allowTask('agent_check', { changed: false, value: { server: 'r.example' } });
}

const changing = (spec: PlanSpec) =>
  spec.calls.filter((c) => CHANGING.includes(c.task)).map((c) => `${c.task}@${c.targets.join(',')}`);

describe('failover', () => {
  it('promotes the replica when the primary is silent from both places, and reports the RPO', async () => {
    const spec = planSpec(hosts);
    pair(spec, 'down');
    spec.expectTask('set_mode').withTargets('r').withParams({ mode: 'passive', peer: 'p', replication: 'disabled' });
    spec.expectTask('promote').withTargets('r').withParams({ peer: 'p', force: false });
    spec.expectTask('configure_agents').withTargets('a').withParams({ first: 'r.example' });
    const result = await spec.run(failover, {}, { yes: true });
    expect(result.status).toBe('success');
    expect(changing(spec)).toEqual(['set_mode@r', 'promote@r', 'configure_agents@a']);
    expect(spec.calls.find((c) => c.task === 'agent_check')?.params[0]).toMatchObject({ expect_server: 'r.example' });
    expect(result.value).toMatchObject({
      active: 'r',
      previous: 'p',
      primary: 'down',
      fenced: false,
      rpo: [expect.objectContaining({ kind: 'ca', age_s: 30 }), expect.objectContaining({ kind: 'puppetdb' })],
    });
  });

  it('fences a primary it can log in to (services stopped, demoted) before promoting', async () => {
    const spec = planSpec(hosts);
    pair(spec, 'live');
    spec.allowTask('discover', {
      changed: false,
      value: {
        services: [
          { name: 'puppetserver', present: true },
          { name: 'puppetdb', present: true },
          { name: 'postgresql', present: true },
        ],
      },
    });
    spec
      .expectTask('service')
      .withTargets('p')
      .withParams({ action: 'stop', services: ['puppetserver', 'puppetdb'] });
    spec.expectTask('demote').withTargets('p').withParams({ peer: 'r' });
    spec.allowTask('set_mode');
    spec.allowTask('promote');
    spec.allowTask('configure_agents');
    const result = await spec.run(failover, {}, { yes: true });
    expect(result.status).toBe('success');
    expect(changing(spec)).toEqual(['service@p', 'demote@p', 'set_mode@r', 'promote@r', 'configure_agents@a']);
    expect(result.value).toMatchObject({ primary: 'reachable', fenced: true });
  });

  it('refuses a partition and changes nothing, also under --noop (the plan fails: exit 2)', async () => {
    for (const noop of [false, true]) {
      const spec = planSpec(hosts);
      pair(spec, 'cut');
      const result = await spec.run(failover, {}, { noop, yes: true });
      expect(result.status).toBe('failure');
      expect(result.steps.find((s) => s.status === 'failure')?.name).toBe('check');
      expect(result.error?.msg).toMatch(/partition.*force=true/s);
      expect(changing(spec)).toEqual([]);
    }
  });

  it('goes on through a partition with force=true, promoting with force and fencing nothing', async () => {
    const spec = planSpec(hosts);
    pair(spec, 'cut');
    spec.allowTask('set_mode');
    spec.expectTask('promote').withParams({ peer: 'p', force: true });
    spec.allowTask('configure_agents');
    const result = await spec.run(failover, { force: true }, { yes: true });
    expect(result.status).toBe('success');
    expect(changing(spec)).toEqual(['set_mode@r', 'promote@r', 'configure_agents@a']);
    expect(result.value).toMatchObject({ primary: 'split', forced: true });
  });

  it('under --noop checks for real and previews every change, skipping the agent run', async () => {
    const spec = planSpec(hosts);
    pair(spec, 'down');
    for (const task of ['set_mode', 'promote', 'configure_agents']) spec.allowTask(task);
    const result = await spec.run(failover, {}, { noop: true });
    expect(result.status).toBe('success');
    expect(result.noop).toBe(true);
    expect(changing(spec)).toEqual(['set_mode@r', 'promote@r', 'configure_agents@a']);
    expect(spec.calls.map((c) => c.task)).not.toContain('agent_check');
  });

  it('resumed with --from promote, checks again before promoting', async () => {
    const spec = planSpec(hosts);
    pair(spec, 'down');
    spec.allowTask('promote');
    spec.allowTask('configure_agents');
    const result = await spec.run(failover, {}, { from: 'promote' });
    expect(result.status).toBe('success');
    expect(spec.calls.map((c) => c.task).slice(0, 4)).toEqual([
      'probe_status',
      'probe_status',
      'check_ports',
      'check_ports',
    ]);
    expect(changing(spec)).toEqual(['promote@r', 'configure_agents@a']);
  });

  it('without --yes and without a terminal refuses before any change, naming --yes', async () => {
    const spec = planSpec(hosts);
    pair(spec, 'down');
    const result = await spec.run(failover);
    expect(result.status).toBe('failure');
    expect(result.steps.find((s) => s.status === 'failure')?.name).toBe('confirm');
    expect(JSON.stringify(result.error)).toMatch(/--yes/);
    expect(changing(spec)).toEqual([]);
  });

  it('after a switchover (the inventory replica active) fails over to the inventory primary, by the modes', async () => {
    const spec = planSpec(hosts);
    spec.allowTask('probe_status', (t) =>
      t === 'p'
        ? probe('p.example', 'passive', { answers: { 'p.example': true }, caInventory: ['0x0001 a'] })
        : { error: 'Cannot connect (ECONNREFUSED)', kind: 'pef/connect-failed' },
    );
    spec.allowTask('check_ports', ports('refused'));
    spec.expectTask('set_mode').withTargets('p').withParams({ peer: 'r', replication: 'disabled' });
    spec.expectTask('promote').withTargets('p').withParams({ peer: 'r' });
    spec.expectTask('configure_agents').withParams({ first: 'p.example' });
    spec.allowTask('agent_check', { changed: false });
    const result = await spec.run(failover, {}, { yes: true });
    expect(result.status).toBe('success');
    expect(result.value).toMatchObject({ active: 'p', previous: 'r' });
  });

  it('runs the after-failover hook with the new active server in its environment, and fails the run when it fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pef-failover-hook-'));
    try {
      const spec = planSpec(hosts);
      pair(spec, 'down');
      for (const task of ['set_mode', 'promote', 'configure_agents']) spec.allowTask(task);
      const hooks = {
        commands: {
          'after-failover': [
            { command: 'echo "$PEF_ACTIVE $PEF_PREVIOUS $PEF_ACTIVE_CERTNAME $PEF_HOOK" > hook.out', timeoutMs: 5000 },
            { command: 'exit 3', timeoutMs: 5000 },
          ],
        },
        cwd: dir,
      };
      const result = await spec.run(failover, {}, { yes: true, hooks });
      expect(readFileSync(join(dir, 'hook.out'), 'utf8')).toBe('r p r.example after-failover\n');
      expect(result.status).toBe('failure');
      expect(result.steps.find((s) => s.status === 'failure')?.name).toBe('report');
      expect(result.error?.msg).toMatch(/r is active, but the after-failover hook failed.*--from hook_after/s);
      expect(result.value).toMatchObject({ active: 'r' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops before any change when the before-failover hook fails', async () => {
    const spec = planSpec(hosts);
    pair(spec, 'down');
    const hooks = { commands: { 'before-failover': [{ command: 'exit 1', timeoutMs: 5000 }] } };
    const result = await spec.run(failover, {}, { yes: true, hooks });
    expect(result.steps.find((s) => s.status === 'failure')?.name).toBe('hook_before');
    expect(changing(spec)).toEqual([]);
  });
});
