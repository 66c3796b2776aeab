import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { commandInput, endMarker, startScript } from '../../../../src/transport/ssh/channel-script.js';

const KEY = '00112233aabbccdd';

// A local /bin/sh fed the way the channel feeds it: the next command only after both end markers
// of the previous one.
type Input = [command: string, options: { env?: Record<string, string>; stdin?: string }];
async function shell(inputs: Input[]): Promise<{ results: { stdout: string; stderr: string }[]; code: number | null }> {
  const child = spawn('/bin/sh', [], { env: { PATH: process.env['PATH'] ?? '', HOME: '/' } });
  let out = '';
  let err = '';
  let wake: (() => void) | undefined;
  child.stdout.on('data', (b: Buffer) => ((out += b.toString('utf8')), wake?.()));
  child.stderr.on('data', (b: Buffer) => ((err += b.toString('utf8')), wake?.()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const until = (seq: number): Promise<void> =>
    new Promise((resolve) => {
      const m = endMarker(KEY, seq);
      wake = () => {
        if (out.includes(m) && err.includes(m)) resolve();
      };
      wake();
    });
  child.stdin.write(startScript(KEY));
  await until(0);
  const results: { stdout: string; stderr: string }[] = [];
  for (const [i, [command, options]] of inputs.entries()) {
    const [o0, e0] = [out.length, err.length];
    child.stdin.write(commandInput(KEY, i + 1, command, options));
    await until(i + 1);
    results.push({ stdout: out.slice(o0), stderr: err.slice(e0) });
  }
  child.stdin.end();
  return { results, code: await closed };
}

describe('commandInput', () => {
  it('runs each command isolated, with its status in the end marker, and ends with its input', async () => {
    const { results, code } = await shell([
      ["cd /tmp; umask 077; pef_v=1; export PEF_E=1; trap 'echo trapped' EXIT; echo out; echo err >&2; exit 7", {}],
      ['pwd; umask; echo "[${pef_v-}][${PEF_E-}][${pef_k-}]"; read -r l || echo no-stdin', {}],
      ['read -r a; read -r b; echo "$a+$b"; exit 3', { stdin: 'one\ntwo\nexit 9\n' }],
      [`echo ${'y'.repeat(2000)} | wc -c`, { env: { A: 'multi\nline' } }],
      ['printf "%s\\n" "$A"', { env: { A: 'multi\nline' } }],
      // A syntax error, an unbalanced quote and a stray `)` stay inside their own subshell.
      ["if then; echo ') unbalanced '\"", {}],
      ['set -e; false; echo not reached', {}],
      ['echo still here', {}],
      // The key is in no variable a command could print.
      [`set | grep -c ${KEY.slice(0, 8)}""${KEY.slice(8)}`, {}],
    ]);
    expect(results[0]).toEqual({
      stdout: `out\ntrapped\n${endMarker(KEY, 1)}7\n`,
      stderr: `err\n${endMarker(KEY, 1)}7\n`,
    });
    expect(results[1]?.stdout).toBe(`/\n0022\n[][][]\nno-stdin\n${endMarker(KEY, 2)}0\n`);
    expect(results[2]?.stdout).toBe(`one+two\n${endMarker(KEY, 3)}3\n`);
    expect(results[3]?.stdout.trim()).toBe(`2001\n${endMarker(KEY, 4)}0`);
    expect(results[4]?.stdout).toBe(`multi\nline\n${endMarker(KEY, 5)}0\n`);
    expect(results[5]?.stdout).toBe(`${endMarker(KEY, 6)}2\n`);
    expect(results[5]?.stderr).toMatch(/syntax error/i);
    expect(results[6]?.stdout).toBe(`${endMarker(KEY, 7)}1\n`);
    expect(results[7]?.stdout).toBe(`still here\n${endMarker(KEY, 8)}0\n`);
    expect(results[8]?.stdout).toBe(`0\n${endMarker(KEY, 9)}1\n`);
    // The shell ends when its input ends.
    expect(code).toBe(0);
  });
});
