/**
 * What the wizard offers, from the status document: a switchover when both are up and the active
 * one serves, a failover when it is silent and cannot be logged in to, a question when it is up
 * but not serving, blocked when the modes name no spare; the spare's problems and the age of its
 * copy per kind.
 */
import { describe, expect, it } from '@jest/globals';
import { assessSituation } from '../../../src/workflow/wizard-situation.js';
import { pairDoc as doc } from '../../helpers/status-doc.js';

const PAIR = ['a', 'b'] as const;

describe('assessSituation', () => {
  it('offers a switchover when both are up and the active one serves', () => {
    const s = assessSituation(doc(), PAIR);
    expect(s).toMatchObject({ offer: 'switchover', active: 'a', spare: 'b' });
  });

  it('offers a failover when the active server cannot be read and answers nowhere', () => {
    const s = assessSituation(doc({ read: false, serves: false }), PAIR);
    expect(s).toMatchObject({ offer: 'failover', active: 'a', spare: 'b' });
    expect(s.reason).toMatch(/looks down/);
  });

  it('asks when the active server is reachable but its Puppet Server does not answer', () => {
    expect(assessSituation(doc({ serves: false }), PAIR)).toMatchObject({ offer: 'ask', spare: 'b' });
  });

  it('asks when it answers on 8140 but cannot be logged in to (it could not be fenced)', () => {
    expect(assessSituation(doc({ read: false, serves: true }), PAIR).offer).toBe('ask');
  });

  it('offers a failover to the spare of a fenced server', () => {
    expect(assessSituation(doc({ mode: 'fenced', serves: false }), PAIR).offer).toBe('failover');
  });

  it('is blocked when the modes name no spare (both passive)', () => {
    const s = assessSituation(doc({ mode: 'passive' }), PAIR);
    expect(s.offer).toBe('blocked');
    expect(s.spare).toBeNull();
    expect(s.reason).toMatch(/Cannot tell which server/);
  });

  it('says what the spare lacks and how old its copy is, per kind', () => {
    const s = assessSituation(doc(), PAIR);
    expect(s.spareWarnings).toEqual(['ca: b lacks 3 item(s)']);
    expect(s.stake).toEqual([
      { kind: 'ca', last_success: '2026-06-01T11:59:18.000Z', age_s: 42 },
      { kind: 'puppetdb', last_success: null, age_s: null },
    ]);
  });
});
