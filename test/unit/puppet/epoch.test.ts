import { describe, expect, it } from '@jest/globals';
import { PefError } from '../../../src/errors/pef-error.js';
import {
  initialEpoch,
  MAX_EPOCH,
  nextEpoch,
  parseEpochFile,
  parseEpochValue,
  renderEpochFile,
  usableEpoch,
} from '../../../src/puppet/epoch.js';
import { parseReplicationState, replicationStateCommand } from '../../../src/puppet/mode.js';

describe('epoch file', () => {
  it('round-trips; no file is none; anything but plain digits in range is invalid', () => {
    expect(parseEpochFile(renderEpochFile({ epoch: 7, changedAt: 't', by: 'pef promote\n(x)' }))).toBe(7);
    expect(renderEpochFile({ epoch: 7, changedAt: 't', by: 'a\nb' })).toContain('by=a b\n');
    expect(parseEpochFile('')).toBeNull();
    expect(parseEpochFile('\n  \n')).toBeNull();
    for (const bad of ['# only a comment\n', 'epoch=\n', 'epoch=-1\n', 'epoch=07\n', 'epoch=1e3\n', 'epoch=0x10\n'])
      expect(parseEpochFile(bad)).toBe('invalid');
    expect(parseEpochFile(`epoch=${MAX_EPOCH + 1}\n`)).toBe('invalid');
    expect(parseEpochFile(`epoch=${MAX_EPOCH}\n`)).toBe(MAX_EPOCH);
    expect(parseEpochValue('0')).toBe(0);
    expect(parseEpochValue(' 3')).toBe('invalid');
    expect(parseEpochValue(undefined)).toBe('invalid');
  });

  it('a promotion goes one past the higher epoch; a first mode starts at the peer', () => {
    expect(nextEpoch(null, null)).toBe(1);
    expect(nextEpoch(2, 5)).toBe(6);
    expect(nextEpoch(5, 2)).toBe(6);
    expect(nextEpoch(3, null)).toBe(4);
    expect(initialEpoch(null)).toBe(1);
    expect(initialEpoch(0)).toBe(1);
    expect(initialEpoch(4)).toBe(4);
    expect(() => nextEpoch(MAX_EPOCH, 0)).toThrow(PefError);
  });

  it('usableEpoch refuses an invalid epoch with pef/untrusted-value, naming the server', () => {
    expect(usableEpoch(3, 'a')).toBe(3);
    expect(usableEpoch(null, 'a')).toBeNull();
    expect(() => usableEpoch('invalid', 'replica.lab')).toThrow(
      /^replica\.lab: \/etc\/pef\/epoch holds no valid epoch/,
    );
  });

  it('the state probe reads the epoch between the mode and the kill-switch, and a mode without a newline', () => {
    expect(replicationStateCommand()).toContain('/etc/pef/epoch');
    const out = '--- pef mode\nmode=active\n--- pef epoch\nepoch=4\n--- pef kill-switch\nreason=x\n';
    expect(parseReplicationState(out)).toMatchObject({
      mode: { mode: 'active' },
      epoch: 4,
      killSwitch: { reason: 'x' },
    });
    expect(parseReplicationState('--- pef mode\nmode=fenced\n--- pef epoch\n')).toMatchObject({
      mode: { mode: 'fenced' },
      epoch: null,
      killSwitch: null,
    });
    expect(parseReplicationState('--- pef mode\n--- pef epoch\nepoch=x\n').epoch).toBe('invalid');
  });
});
