import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { commandScript, envExports } from '../../../../src/transport/ssh/shell.js';

const sh = (script: string, env: Record<string, string> = {}): string =>
  execFileSync('/bin/sh', ['-c', script], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: '/', ...env },
  });

describe('envExports', () => {
  it('exports quoted values', () => {
    expect(sh(`${envExports({ A: "x'y", B_2: '$HOME' })}; printf '%s|%s' "$A" "$B_2"`)).toBe("x'y|$HOME");
    expect(envExports(undefined)).toBe('');
  });

  it('refuses names sh cannot take', () => {
    expect(() => envExports({ '1A': 'x' })).toThrow(expect.objectContaining({ kind: 'pef/validation-error' }));
    expect(() => envExports({ 'A B': 'x' })).toThrow(/A B/);
  });
});

describe('commandScript', () => {
  it('runs the command in home (or /) with its env, under timeout when limited', () => {
    expect(sh(commandScript('pwd; echo "$X"', { X: '1' }, undefined))).toBe('/\n1\n');
    expect(() => sh(commandScript('sleep 5', undefined, 200))).toThrow(expect.objectContaining({ status: 124 }));
  });
});
