import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { commandInput, endMarker, loopScript } from '../../../../src/transport/ssh/channel-script.js';

const KEY = '00112233aabbccdd';

// The command loop in a local /bin/sh, fed the way the channel feeds it: the next input only
// after both end markers of the previous one.
async function loop(inputs: string[]): Promise<{ results: { stdout: string; stderr: string }[]; code: number | null }> {
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
  child.stdin.write(loopScript(KEY, 'sh'));
  await until(0);
  const results: { stdout: string; stderr: string }[] = [];
  for (const [i, input] of inputs.entries()) {
    const [o0, e0] = [out.length, err.length];
    child.stdin.write(input);
    await until(i + 1);
    results.push({ stdout: out.slice(o0), stderr: err.slice(e0) });
  }
  child.stdin.end();
  return { results, code: await closed };
}

describe('commandInput', () => {
  it('sends a short one-line command as its own line, anything else through a script shell', () => {
    expect(commandInput('echo x', {})).toBe('echo x\n');
    expect(commandInput('echo "$A"', { env: { A: "it's" } })).toBe(`export A='it'\\''s'; eval 'echo "$A"'\n`);
    // The one line that would start a script shell goes through one itself.
    expect(commandInput('pef_script', {})).toBe('pef_script\n{ eval pef_script; } </dev/null\nexit\n');
    expect(commandInput('echo a\necho b', {})).toMatch(/^pef_script\n/);
    expect(commandInput('cat', { stdin: 'x' })).toMatch(/^pef_script\n/);
    expect(commandInput(`echo ${'y'.repeat(2000)}`, {})).toMatch(/^pef_script\n/);
    expect(commandInput('env', { env: { A: 'line\nbreak' } })).toMatch(/^pef_script\n/);
  });
});

describe('loopScript', () => {
  it('runs each command isolated, with its status in the end marker, and ends with its input', async () => {
    const { results, code } = await loop([
      commandInput(
        "cd /tmp; umask 077; pef_v=1; export PEF_E=1; trap 'echo trapped' EXIT; echo out; echo err >&2; exit 7",
        {},
      ),
      commandInput('pwd; umask; echo "[${pef_v-}][${PEF_E-}][${pef_k-}]"; read -r l || echo no-stdin', {}),
      commandInput('read -r a; read -r b; echo "$a+$b"; exit 3', { stdin: 'one\ntwo\nexit 9\n' }),
      commandInput(`echo ${'y'.repeat(2000)} | wc -c`, { env: { A: 'multi\nline' } }),
      commandInput('printf "%s\\n" "$A"', { env: { A: 'multi\nline' } }),
      commandInput('echo still here', {}),
      // The key is in no variable a command could print.
      commandInput(`set | grep -c ${KEY.slice(0, 8)}""${KEY.slice(8)}`, {}),
    ]);
    expect(results[0]).toEqual({
      stdout: `out\ntrapped\n${endMarker(KEY, 1)}7\n`,
      stderr: `err\n${endMarker(KEY, 1)}7\n`,
    });
    expect(results[1]?.stdout).toBe(`/\n0022\n[][][]\nno-stdin\n${endMarker(KEY, 2)}0\n`);
    expect(results[2]?.stdout).toBe(`one+two\n${endMarker(KEY, 3)}3\n`);
    expect(results[3]?.stdout.trim()).toBe(`2001\n${endMarker(KEY, 4)}0`);
    expect(results[4]?.stdout).toBe(`multi\nline\n${endMarker(KEY, 5)}0\n`);
    expect(results[5]?.stdout).toBe(`still here\n${endMarker(KEY, 6)}0\n`);
    expect(results[6]?.stdout).toBe(`0\n${endMarker(KEY, 7)}1\n`);
    // The waiting subshell ends the loop's shell when the input ends.
    expect(code).not.toBe(0);
  });
});
