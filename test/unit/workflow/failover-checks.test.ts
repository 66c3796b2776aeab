/**
 * The failover's verdict on the primary from the two places that look at it, and the refusals:
 * down only when both find it silent, a partition refused unless fenced or forced, an unmeasured
 * view never read as down.
 */
import { describe, expect, it } from '@jest/globals';
import type { PortAnswer } from '../../../src/host/port-probe.js';
import { parseStatusProbe } from '../../../src/replication/status-probe.js';
import {
  assessFailover,
  failoverDirection,
  type FailoverInput,
  type PrimaryViews,
} from '../../../src/workflow/failover-checks.js';

const open: PortAnswer = { state: 'open', detail: 'connected' };
const refused: PortAnswer = { state: 'refused', detail: 'Connection refused' };
const silent: PortAnswer = { state: 'no-answer', detail: 'no answer before the deadline' };
const unknown: PortAnswer = { state: 'unknown', detail: 'bash: not found' };
const down = { ok: false as const, kind: 'pef/connect-failed', message: 'ECONNREFUSED' };

function replicaProbe(mode = 'passive', flavor = 'oss', caLines = 3) {
  return parseStatusProbe(
    [
      '@@pef facts',
      `flavor=${flavor}`,
      'now=1780000000',
      'certname=replica.example',
      `ca.count=${caLines}`,
      '@@pef mode',
      '--- pef mode',
      `mode=${mode}`,
      'peer=p',
    ].join('\n'),
  );
}

function input(views: Partial<PrimaryViews>, more: Partial<FailoverInput> = {}): FailoverInput {
  return {
    primaryName: 'p',
    replicaName: 'r',
    views: {
      controllerLogin: down,
      controller8140: refused,
      fromReplica: { ssh: refused, puppetserver: refused },
      primaryState: null,
      ...views,
    },
    replica: replicaProbe(),
    replicaError: null,
    force: false,
    ...more,
  };
}

describe('assessFailover', () => {
  it('calls the primary down when the controller and the replica both find it silent', () => {
    const a = assessFailover(input({ fromReplica: { ssh: silent, puppetserver: refused } }));
    expect(a).toMatchObject({ primary: 'down', canFence: false, forced: false, blockers: [] });
    expect(a.findings.map((f) => f.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('fences a primary pef can log in to, and sees one already fenced', () => {
    const live = assessFailover(
      input({
        controllerLogin: { ok: true },
        controller8140: open,
        fromReplica: { ssh: open, puppetserver: open },
        primaryState: { mode: 'active', killSwitch: false },
      }),
    );
    expect(live).toMatchObject({ primary: 'reachable', canFence: true, fenced: false, blockers: [] });
    const fenced = assessFailover(
      input({
        controllerLogin: { ok: true },
        fromReplica: { ssh: open, puppetserver: refused },
        primaryState: { mode: 'passive', killSwitch: true },
      }),
    );
    expect(fenced).toMatchObject({ primary: 'reachable', fenced: true, blockers: [] });
  });

  it('refuses a partition (the replica sees the primary, the controller does not) unless forced', () => {
    const views = {
      controllerLogin: { ok: false as const, kind: 'pef/timeout', message: 'handshake' },
      controller8140: silent,
      fromReplica: { ssh: open, puppetserver: open },
    };
    const refusedRun = assessFailover(input(views));
    expect(refusedRun.primary).toBe('split');
    expect(refusedRun.blockers.join('\n')).toMatch(/partition.*Refused.*force=true/s);
    const forced = assessFailover(input(views, { force: true }));
    expect(forced).toMatchObject({ primary: 'split', forced: true, canFence: false, blockers: [] });
  });

  it('refuses the other partition (the controller reaches it, the replica does not) unless it is fenced', () => {
    const views = {
      controllerLogin: { ok: true as const },
      controller8140: open,
      fromReplica: { ssh: silent, puppetserver: silent },
    };
    const active = assessFailover(input({ ...views, primaryState: { mode: 'active', killSwitch: false } }));
    expect(active.primary).toBe('split');
    expect(active.blockers).toHaveLength(1);
    const fenced = assessFailover(
      input({ ...views, controller8140: refused, primaryState: { mode: 'passive', killSwitch: true } }),
    );
    expect(fenced).toMatchObject({ primary: 'split', fenced: true, forced: false, blockers: [] });
  });

  it('never reads an unmeasured view as down', () => {
    expect(assessFailover(input({ fromReplica: null })).primary).toBe('unknown');
    expect(assessFailover(input({ controller8140: unknown })).primary).toBe('unknown');
    const odd = assessFailover(
      input({ controllerLogin: { ok: false, kind: 'pef/connection-lost', message: 'reset' } }),
    );
    expect(odd.primary).toBe('unknown');
    expect(odd.blockers).toHaveLength(1);
    const locked = assessFailover(
      input({
        controllerLogin: { ok: false, kind: 'pef/auth-failed', message: 'denied' },
        fromReplica: { ssh: open, puppetserver: open },
      }),
    );
    expect(locked).toMatchObject({ primary: 'unfenceable', canFence: false });
    expect(locked.blockers.join('')).toMatch(/cannot log in/);
  });

  it('needs a replica set up as the spare, holding the CA, on open source Puppet', () => {
    expect(assessFailover(input({}, { replica: null, replicaError: 'timeout' })).blockers.join('')).toMatch(
      /nothing to fail over to/,
    );
    expect(assessFailover(input({}, { replica: replicaProbe('none') })).blockers.join('')).toMatch(/never set up/);
    expect(assessFailover(input({}, { replica: replicaProbe('passive', 'oss', 0) })).blockers.join('')).toMatch(
      /no copy of the CA/,
    );
    expect(assessFailover(input({}, { replica: replicaProbe('passive', 'pe') })).blockers.join('')).toMatch(
      /Puppet Enterprise/,
    );
  });

  it('takes an active replica as a resumed failover, and refuses two active servers', () => {
    expect(assessFailover(input({}, { replica: replicaProbe('active') }))).toMatchObject({
      resumed: true,
      blockers: [],
    });
    const both = assessFailover(
      input(
        {
          controllerLogin: { ok: true },
          controller8140: open,
          fromReplica: { ssh: open, puppetserver: open },
          primaryState: { mode: 'active', killSwitch: false },
        },
        { replica: replicaProbe('active') },
      ),
    );
    expect(both.blockers.join('')).toMatch(/both p and r say active/);
  });
});

describe('failoverDirection', () => {
  const pair = ['p', 'r'] as const;
  it('promotes the passive server of an active/passive pair, whichever the inventory calls primary', () => {
    expect(failoverDirection(pair, { p: 'active', r: 'passive' })).toEqual({ from: 'p', to: 'r' });
    expect(failoverDirection(pair, { p: 'passive', r: 'active' })).toEqual({ from: 'r', to: 'p' });
  });

  it('promotes the only readable server when it is passive', () => {
    expect(failoverDirection(pair, { p: 'unreadable', r: 'passive' })).toEqual({ from: 'p', to: 'r' });
    expect(failoverDirection(pair, { p: 'fenced', r: 'passive' })).toEqual({ from: 'p', to: 'r' });
  });

  it('asks for to= when the modes cannot tell, and takes only a server of the pair', () => {
    for (const readings of [
      { p: 'passive', r: 'passive' },
      { p: 'unreadable', r: 'active' },
      { p: 'unreadable', r: 'unreadable' },
      { p: null, r: 'passive' },
    ] as const)
      expect(() => failoverDirection(pair, readings)).toThrow(/Name it: pef plan run failover to=/);
    expect(failoverDirection(pair, { p: 'passive', r: 'passive' }, 'r')).toEqual({ from: 'p', to: 'r' });
    expect(() => failoverDirection(pair, {}, 'x')).toThrow(/not one of the pair/);
  });
});
