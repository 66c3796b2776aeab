import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { commandScript, envExports, sessionKillScript } from '../../../../src/transport/ssh/shell.js';

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

// Running: has a /proc entry that is not a zombie (an orphan's zombie may wait for a lazy init).
function running(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('sessionKillScript', () => {
  it("ends everything in the shell's session but the shell, orphans included", async () => {
    // A shell in its own session (as sshd starts each channel), running a "command" with a
    // child, a grandchild, an orphan whose parent subshell is gone, and one that ignores TERM.
    const shell = spawn(
      '/bin/sh',
      [
        '-c',
        [
          '( sh -c \'sleep 51 & echo $!; trap "" TERM; sleep 52 & echo $!; wait\' & echo $!',
          '  (sleep 53 & echo $!)',
          '  wait ) &',
          'read -r _ ; echo shell-still-here; read -r _',
        ].join('\n'),
      ],
      { detached: true, stdio: ['pipe', 'pipe', 'ignore'] },
    );
    const pids: number[] = [];
    let output = '';
    shell.stdout.on('data', (c: Buffer) => (output += c.toString()));
    while (output.split('\n').filter((l) => /^\d+$/.test(l)).length < 4) await new Promise((r) => setTimeout(r, 20));
    pids.push(
      ...output
        .split('\n')
        .filter((l) => /^\d+$/.test(l))
        .map(Number),
    );
    expect(pids.every(running)).toBe(true);
    try {
      execFileSync('/bin/sh', ['-c', sessionKillScript(shell.pid ?? 0, 0.3)]);
      expect(pids.filter(running)).toEqual([]);
      expect(running(shell.pid ?? 0)).toBe(true);
      shell.stdin.write('\n');
      while (!output.includes('shell-still-here')) await new Promise((r) => setTimeout(r, 20));
    } finally {
      shell.stdin.end();
      for (const pid of [shell.pid ?? 0, ...pids]) if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('says so when there is no such process', () => {
    expect(() => execFileSync('/bin/sh', ['-c', sessionKillScript(2 ** 22 + 7, 0)])).toThrow(
      expect.objectContaining({ status: 3 }),
    );
  });
});
