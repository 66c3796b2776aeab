/** Globs and "did you mean" for names and keys. */
import { describe, expect, it } from '@jest/globals';
import { globMatcher, isGlob, nearNames } from '../../../src/inventory/name-match.js';

describe('globMatcher', () => {
  it.each([
    ['web*', 'web1.example.com', true],
    ['web*', 'db1', false],
    ['WEB?', 'web1', true],
    ['web?', 'web12', false],
    ['web[12]', 'web2', true],
    ['web[12]', 'web3', false],
    ['web[a-c]', 'WEBB', true],
    ['web[!1]', 'web1', false],
    ['web[!1]', 'web2', true],
    ['a.b', 'axb', false],
    ['a+b(c)', 'a+b(c)', true],
    ['[oops', '[oops', true],
    ['plain', 'PLAIN', true],
  ])('%s against %s is %s', (pattern, name, expected) => {
    expect(globMatcher(pattern)(name)).toBe(expected);
  });

  it('isGlob', () => {
    expect(['a*', 'a?', 'a[1]'].map(isGlob)).toEqual([true, true, true]);
    expect(isGlob('a.example.com')).toBe(false);
  });
});

describe('nearNames', () => {
  it('finds small edits, treats _ as -, names containing the one asked for, and its prefixes; best first', () => {
    expect(nearNames('replca', ['replica', 'primary'])).toEqual(['replica']);
    expect(nearNames('host_key_check', ['host', 'host-key-check', 'port'])).toEqual(['host-key-check', 'host']);
    expect(nearNames('variable', ['_plugin', 'var', 'default'])).toEqual(['var']);
    expect(nearNames('primary', ['primary.example.com', 'agent1'])).toEqual(['primary.example.com']);
    expect(nearNames('zzz', ['replica', 'primary'])).toEqual([]);
  });
});
