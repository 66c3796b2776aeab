import { describe, expect, it } from '@jest/globals';
import { parseKeyValues } from '../../../src/util/key-value.js';

describe('parseKeyValues', () => {
  it('splits at the first =, trims, and lets the last value of a key win', () => {
    const kv = parseKeyValues('mode=active\n  peer = replica.lab \r\nurl=a=b=c\nmode=passive\nempty=\n');
    expect([...kv]).toEqual([
      ['mode', 'passive'],
      ['peer', 'replica.lab'],
      ['url', 'a=b=c'],
      ['empty', ''],
    ]);
  });

  it('skips comments, lines without =, and lines with an empty key', () => {
    const kv = parseKeyValues(
      '# pef mode\n  # reason=not this\n--- pef mode\n=orphan\n  =x\nreason=kept # not a comment\n',
    );
    expect([...kv]).toEqual([['reason', 'kept # not a comment']]);
  });

  it('reads nothing from empty text', () => {
    expect(parseKeyValues('').size).toBe(0);
  });
});
