import { describe, expect, it } from '@jest/globals';
import { fenceVerdict, OWN_RULES, PAIR_RULES } from '../../../src/puppet/fence-verdict.js';

describe('fenceVerdict', () => {
  it('an active server whose peer is active with a higher epoch fences itself, and says why', () => {
    expect(fenceVerdict({ mode: 'active', epoch: 1 }, { mode: 'active', epoch: 2 })).toEqual({
      action: 'fence',
      level: 'WARNING',
      message: expect.stringMatching(
        /^the peer is active with epoch 2, newer than this server's 1: .*fencing this server/,
      ),
    });
    // So does a server without a mode that still sends.
    expect(fenceVerdict({ mode: 'none', epoch: 0 }, { mode: 'active', epoch: 1 }).action).toBe('fence');
  });

  it('never sends to a newer side that is not active, nor between two actives', () => {
    for (const peer of ['passive', 'fenced', 'none'] as const)
      expect(fenceVerdict({ mode: 'active', epoch: 1 }, { mode: peer, epoch: 2 })).toMatchObject({
        action: 'hold',
        level: 'FAILURE',
      });
    expect(fenceVerdict({ mode: 'active', epoch: 3 }, { mode: 'active', epoch: 3 }).message).toMatch(
      /two active servers/,
    );
    expect(fenceVerdict({ mode: 'active', epoch: 3 }, { mode: 'active', epoch: 1 }).action).toBe('hold');
  });

  it('fails closed on an unknown peer or an invalid epoch on either side', () => {
    expect(fenceVerdict({ mode: 'active', epoch: 1 }, null)).toMatchObject({ action: 'hold', level: 'FAILURE' });
    expect(fenceVerdict({ mode: 'active', epoch: 1 }, { mode: 'passive', epoch: 'invalid' }).action).toBe('hold');
    expect(fenceVerdict({ mode: 'active', epoch: 'invalid' }, { mode: 'passive', epoch: 1 }).action).toBe('hold');
  });

  it('carries on with an older or equal passive or fenced peer; fenced and passive servers decide alone', () => {
    expect(fenceVerdict({ mode: 'active', epoch: 2 }, { mode: 'passive', epoch: 2 }).action).toBe('proceed');
    expect(fenceVerdict({ mode: 'active', epoch: 2 }, { mode: 'fenced', epoch: 1 }).action).toBe('proceed');
    expect(fenceVerdict({ mode: 'fenced', epoch: 1 }, null).action).toBe('stay-fenced');
    expect(fenceVerdict({ mode: 'passive', epoch: 1 }, null).action).toBe('proceed');
  });

  it('the own-mode rules need no peer, and the pair rules end with a catch-all', () => {
    expect(OWN_RULES.every((r) => r.own !== '*' && r.peer === '*' && r.order === '*')).toBe(true);
    expect(PAIR_RULES.at(-1)).toMatchObject({ own: '*', peer: '*', order: '*', action: 'proceed' });
  });
});
