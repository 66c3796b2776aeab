/**
 * The ssh transport against a real sshd: what run() promises, in both command modes (the
 * persistent shell and one exec channel per command), plus the automatic fallback.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { homedir } from 'node:os';
import { PefError } from '../../../src/errors/pef-error.js';
import type { SshConnection } from '../../../src/transport/ssh/ssh-connection.js';
import { SshTransport } from '../../../src/transport/ssh-transport.js';
import type { Stream } from '../../../src/transport/transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

// Real processes on a shared 2-core machine: allow for load.
jest.setTimeout(60_000);

let sshd: Sshd;

beforeAll(async () => {
  // The login's ~/.bashrc stays out (as in the bench): a slow one (pyenv init) run by 40 exec
  // channels at once races on its own files and writes to their stderr, which is not pef's output.
  sshd = await startSshd({ extraConfig: ['SetEnv SHLVL=1'] });
}, 30_000);

afterAll(async () => {
  await sshd?.stop();
});

describe.each(['persistent', 'exec'] as const)('run() in %s mode', (commandMode) => {
  let conn: SshConnection;

  beforeAll(async () => {
    conn = await new SshTransport({ commandMode }).connect(sshd.target());
  }, 20_000);

  afterAll(async () => {
    await conn?.close();
  });

  it('keeps stdout, stderr and the exit code apart', async () => {
    const out = await conn.run('echo out; echo err >&2; printf no-newline; exit 3');
    expect(out).toMatchObject({ stdout: 'out\nno-newline', stderr: 'err\n', exitCode: 3 });
    expect(out.durationMs).toBeGreaterThan(0);
    expect(conn.mode).toBe(commandMode);
  });

  it('passes stdin byte for byte, and gives /dev/null without it', async () => {
    const text = `line 1\nünïcödé ✓ 'quotes' "double" $HOME \`tick\`\n\tlast line without newline`;
    const echoed = await conn.run('cat', { stdin: text });
    expect(echoed.stdout).toBe(text);
    const big = 'x'.repeat(200_000);
    expect((await conn.run('wc -c', { stdin: big })).stdout.trim()).toBe('200000');
    // `cat` would hang forever on the channel if stdin were not /dev/null.
    expect(await conn.run('cat; echo done')).toMatchObject({ stdout: 'done\n', exitCode: 0 });
  });

  it('sets per-command env, quoting any value', async () => {
    const value = `it's "quoted" $(not run) \n second line`;
    const out = await conn.run('printf %s "$PEF_A"; printf "|%s" "$PEF_B"', { env: { PEF_A: value, PEF_B: 'b' } });
    expect(out.stdout).toBe(`${value}|b`);
    expect((await conn.run('printf %s "${PEF_A-unset}"')).stdout).toBe('unset');
  });

  it('rejects an env name sh cannot take', async () => {
    await expect(conn.run('true', { env: { 'BAD-NAME': 'x' } })).rejects.toMatchObject({
      kind: 'pef/validation-error',
    });
    expect((await conn.run('echo still fine')).stdout).toBe('still fine\n');
  });

  it('streams output as it arrives, without markers', async () => {
    const chunks: { stream: Stream; chunk: string; settled: boolean }[] = [];
    let settled = false;
    const running = conn.run('printf first; echo e1 >&2; sleep 0.5; printf second; echo e2 >&2', {
      onOutput: (stream, chunk) => chunks.push({ stream, chunk, settled }),
    });
    const out = await running.finally(() => (settled = true));
    expect(
      chunks
        .filter((c) => c.stream === 'stdout')
        .map((c) => c.chunk)
        .join(''),
    ).toBe('firstsecond');
    expect(
      chunks
        .filter((c) => c.stream === 'stderr')
        .map((c) => c.chunk)
        .join(''),
    ).toBe('e1\ne2\n');
    expect(chunks.some((c) => c.chunk.includes('first') && !c.settled)).toBe(true);
    expect(out.stdout).toBe('firstsecond');
    expect(chunks.map((c) => c.chunk).join('')).not.toMatch(/PEF-/);
  });

  it('isolates commands: cwd, exported variables, shell variables and positional parameters do not leak', async () => {
    expect((await conn.run('cd /tmp && export PEF_LEAK=1 && pef_var=2 && pwd')).stdout).toBe('/tmp\n');
    const next = await conn.run('pwd; echo "[${PEF_LEAK-}][${pef_var-}][$#][$1]"');
    expect(next.stdout).toBe(`${homedir()}\n[][][0][]\n`);
  });

  it('survives commands that end the shell, fail to parse, or run a long script', async () => {
    expect((await conn.run('exit 7')).exitCode).toBe(7);
    expect((await conn.run('if then fi')).exitCode).toBe(2);
    expect((await conn.run('exec >&-; exec 2>&-; exit 0')).exitCode).toBe(0);
    const script = ['set -e', 'for i in 1 2 3; do', '  echo "n=$i"', 'done', 'echo \'single\' "double"'].join('\n');
    expect((await conn.run(script)).stdout).toBe('n=1\nn=2\nn=3\nsingle double\n');
    expect((await conn.run('echo PEF-END:0123456789abcdef:0; echo after')).stdout).toBe(
      'PEF-END:0123456789abcdef:0\nafter\n',
    );
  });

  it('stops a command at its timeout with pef/timeout, and the next command still works', async () => {
    const error = await conn.run('echo started; sleep 30.25', { timeoutMs: 700 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PefError);
    expect(error).toMatchObject({ kind: 'pef/timeout' });
    expect((error as PefError).message).toContain('sleep 30.25');
    expect((error as PefError).message).toContain('700 ms');
    // The command was killed on the host, not just abandoned.
    expect((await conn.run('pgrep -f "^sleep 30.25$" || echo none')).stdout).toBe('none\n');
    expect(await conn.run('echo next')).toMatchObject({ stdout: 'next\n', exitCode: 0 });
  });

  it('a command that ends before its timeout is a normal result', async () => {
    expect(await conn.run('exit 124', { timeoutMs: 5000 })).toMatchObject({ exitCode: 124 });
  });

  it('runs many concurrent commands on one connection, each with its own output', async () => {
    const n = 40;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        conn.run(`printf 'out-%s' ${i}; printf 'err-%s' ${i} >&2; exit ${i % 5}`, { env: { I: String(i) } }),
      ),
    );
    results.forEach((r, i) => expect(r).toMatchObject({ stdout: `out-${i}`, stderr: `err-${i}`, exitCode: i % 5 }));
  });
});

describe('fallback to exec channels', () => {
  it('is used when the persistent shell cannot start, with the same results', async () => {
    const conn = await new SshTransport({ shell: '/nonexistent/shell' }).connect(sshd.target());
    try {
      expect(await conn.run('echo out; echo err >&2; exit 4', { env: { X: '1' } })).toMatchObject({
        stdout: 'out\n',
        stderr: 'err\n',
        exitCode: 4,
      });
      expect(conn.mode).toBe('exec');
      expect(conn.fallbackReason).toContain('/nonexistent/shell');
      expect((await conn.run('cat', { stdin: 'in' })).stdout).toBe('in');
    } finally {
      await conn.close();
    }
  });
});
