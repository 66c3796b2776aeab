import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { shJoin, shQuote } from '../../../src/util/shell-quote.js';

const sh = (script: string): string => execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });

describe('shQuote', () => {
  it.each(['plain', "it's", "'", "''", '$HOME `x` $(y) \\ "q"', 'multi\nline\n', '', '/etc/puppet/ssl', 'a b'])(
    'round-trips %j through sh',
    (value) => {
      expect(sh(`printf %s ${shQuote(value)}`)).toBe(value);
    },
  );

  it('leaves safe words bare and single-quotes the rest', () => {
    expect(shQuote('/etc/puppet/ssl')).toBe('/etc/puppet/ssl');
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(shQuote('')).toBe("''");
    expect(shQuote('$(reboot)')).toBe("'$(reboot)'");
    expect(shJoin(['rm', '-f', 'a file'])).toBe("rm -f 'a file'");
  });
});
