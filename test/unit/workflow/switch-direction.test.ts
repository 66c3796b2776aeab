import { describe, expect, it } from '@jest/globals';
import { directionProblem, switchDirection } from '../../../src/workflow/switch-direction.js';

const none = { p: null, r: null };

describe('switchDirection', () => {
  it('goes from the active server to the passive one, whatever the inventory roles say', () => {
    expect(switchDirection(['p', 'r'], { modes: { p: 'active', r: 'passive' }, kill_switch: none })).toEqual({
      from: 'p',
      to: 'r',
    });
    expect(switchDirection(['p', 'r'], { modes: { p: 'passive', r: 'active' }, kill_switch: none })).toEqual({
      from: 'r',
      to: 'p',
    });
  });

  it('guesses nothing outside the steady state: half-way, two actives, unknown, kill-switch', () => {
    for (const reading of [
      { modes: { p: 'passive', r: 'passive' }, kill_switch: { p: 'demoted', r: null } },
      { modes: { p: 'active', r: 'active' }, kill_switch: none },
      { modes: { p: 'active', r: null }, kill_switch: none },
      { modes: { p: 'passive', r: 'active' }, kill_switch: { p: 'demoted', r: null } },
    ] as const)
      expect(() => switchDirection(['p', 'r'], reading)).toThrow(/Cannot tell which server .* to=<name>/);
  });

  it('takes the server named by to=, and refuses a name outside the pair', () => {
    const half = { modes: { p: 'passive', r: 'passive' }, kill_switch: { p: 'demoted', r: null } } as const;
    expect(switchDirection(['p', 'r'], half, 'r')).toEqual({ from: 'p', to: 'r' });
    expect(() => switchDirection(['p', 'r'], half, 'agent')).toThrow(/not one of the pair's servers/);
  });
});

describe('directionProblem', () => {
  it('accepts the modes each phase expects and names what it found otherwise', () => {
    const d = { from: 'p', to: 'r' };
    expect(directionProblem('before', d, { p: 'active', r: 'passive' })).toBeNull();
    expect(directionProblem('after', d, { p: 'passive', r: 'active' })).toBeNull();
    expect(directionProblem('after', d, { p: 'active', r: 'passive' })).toMatch(
      /expected r active and p passive after the promotion, found p: active, r: passive/,
    );
    expect(directionProblem('before', d, { p: null, r: 'passive' })).toMatch(/found p: unknown/);
  });
});
