/**
 * What one command may do to the next on the same ssh connection, and how a command ends
 * early, against a real sshd in both command modes: isolation of a command's shell state,
 * timeouts and cancellation that kill the command on the host (checked through the pids it
 * wrote down) while the connection stays usable, the default limit, and output far larger
 * than the channel window or full of control bytes.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PefError } from '../../../src/errors/pef-error.js';
import type { SshConnection } from '../../../src/transport/ssh/ssh-connection.js';
import { SshTransport } from '../../../src/transport/ssh-transport.js';
import { shQuote } from '../../../src/util/shell-quote.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

// Real processes on a shared 2-core machine: allow for load.
jest.setTimeout(90_000);

let sshd: Sshd;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd();
  dir = await mkdtemp(join(tmpdir(), 'pef-lifecycle-test-'));
}, 30_000);

afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Whether any of the listed processes still runs (the sshd runs on this machine). A zombie is
// dead: killed orphans wait there for a container's init that may never reap them.
function alive(pidText: string): boolean {
  const pids = pidText.split(/\s+/).filter((p) => p !== '');
  expect(pids.length).toBeGreaterThan(0);
  return pids.some((pid) => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return false;
    }
    return !/^\S+ \(.*\) Z /s.test(stat);
  });
}

describe.each(['persistent', 'exec'] as const)('commands in %s mode', (commandMode) => {
  let conn: SshConnection;

  beforeAll(async () => {
    conn = await new SshTransport({ commandMode }).connect(sshd.target());
  }, 30_000);

  afterAll(async () => {
    await conn?.close();
  });

  it("does not let a command's cd, export, umask, trap, set -e, exit or stdin reach the next", async () => {
    const first = await conn.run(
      [
        'cd /tmp',
        'export PEF_LEAK=1',
        'pef_var=2',
        'umask 077',
        "trap 'echo trapped-exit' EXIT",
        "trap 'echo trapped-int' INT",
        'set -e',
        'read -r line',
        'echo "read=$line"',
        'exit 7',
      ].join('\n'),
      { stdin: 'one\nexit 99\necho injected\n' },
    );
    expect(first).toMatchObject({ stdout: 'read=one\ntrapped-exit\n', exitCode: 7 });
    const next = await conn.run(
      [
        'pwd',
        'echo "[${PEF_LEAK-}][${pef_var-}][$#]"',
        'umask',
        'trap',
        'case $- in *e*) echo errexit;; *) echo no-errexit;; esac',
        'false',
        'cat',
        'echo end',
      ].join('\n'),
    );
    expect(next.stdout.split('\n')).toEqual([homedir(), '[][][0]', '0022', 'no-errexit', 'end', '']);
    expect(next.exitCode).toBe(0);
  });

  it('kills a timed-out command on the host, what it started included, and runs the next one', async () => {
    const pids = join(dir, `timeout-${commandMode}`);
    // A child it waits for, and a grandchild orphaned by a subshell that already ended.
    const command = `sleep 1031 & echo $! > ${shQuote(pids)}; (sleep 1032 & echo $! >> ${shQuote(pids)}); wait`;
    const error = await conn.run(command, { timeoutMs: 1500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PefError);
    expect(error).toMatchObject({ kind: 'pef/timeout' });
    const written = (await conn.run(`cat ${shQuote(pids)}`)).stdout;
    expect(written.trim().split('\n')).toHaveLength(2);
    expect(alive(written)).toBe(false);
    expect(await conn.run('echo next')).toMatchObject({ stdout: 'next\n', exitCode: 0 });
  });

  it('kills a cancelled command on the host with pef/cancelled, and runs the next one', async () => {
    const pids = join(dir, `cancel-${commandMode}`);
    const controller = new AbortController();
    const running = conn.run(`sleep 1041 & echo $! > ${shQuote(pids)}; echo started; wait`, {
      signal: controller.signal,
      onOutput: (_s, chunk) => {
        if (chunk.includes('started')) controller.abort();
      },
    });
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PefError);
    expect(error).toMatchObject({ kind: 'pef/cancelled', details: { started: true } });
    const written = (await conn.run(`cat ${shQuote(pids)}`)).stdout;
    expect(alive(written)).toBe(false);
    expect(await conn.run('echo next')).toMatchObject({ stdout: 'next\n', exitCode: 0 });
  });

  it('never starts a command whose signal has already fired', async () => {
    const file = join(dir, `never-${commandMode}`);
    const error = await conn.run(`touch ${shQuote(file)}`, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'pef/cancelled', details: { started: false } });
    expect(existsSync(file)).toBe(false);
  });

  it('passes output larger than the channel window, on both streams, intact', async () => {
    const lines = 400_000;
    const expected = `${Array.from({ length: lines }, (_, i) => String(i + 1)).join('\n')}\n`;
    const out = await conn.run(`seq 1 ${lines}; seq 1 ${lines} >&2; echo done`);
    expect(out.stdout.length).toBe(expected.length + 'done\n'.length);
    expect(out.stdout).toBe(`${expected}done\n`);
    expect(out.stderr).toBe(expected);
    expect(out.exitCode).toBe(0);
  });

  it('passes control bytes, NULs, escapes and marker look-alikes intact', async () => {
    const out = await conn.run(
      "printf 'a\\000b\\033[31mred\\r\\n\\001\\002\\377\\376PEF-END:\\nPEF-END:0123:0\\n'; printf '\\000PEF-READY:\\n' >&2",
    );
    // Output is text: bytes that are not UTF-8 become U+FFFD, everything else is kept as is.
    expect(out.stdout).toBe('a\0b\x1b[31mred\r\n\x01\x02\ufffd\ufffdPEF-END:\nPEF-END:0123:0\n');
    expect(out.stderr).toBe('\0PEF-READY:\n');
  });
});

describe('the default command timeout', () => {
  it('stops a command that names no limit, and timeoutMs: 0 lifts it', async () => {
    const conn = await new SshTransport({ commandTimeoutMs: 1500 }).connect(sshd.target());
    try {
      await expect(conn.run('sleep 20')).rejects.toMatchObject({ kind: 'pef/timeout', details: { timeoutMs: 1500 } });
      expect(await conn.run('sleep 2; echo slow', { timeoutMs: 0 })).toMatchObject({ stdout: 'slow\n', exitCode: 0 });
      expect(await conn.run('sleep 2; echo slow', { timeoutMs: Infinity })).toMatchObject({ stdout: 'slow\n' });
    } finally {
      await conn.close();
    }
  });

  it('rejects a limit that is not a number of ms', async () => {
    expect(() => new SshTransport({ commandTimeoutMs: -1 })).toThrow(
      expect.objectContaining({ kind: 'pef/validation-error' }),
    );
    const conn = await new SshTransport().connect(sshd.target());
    try {
      await expect(conn.run('true', { timeoutMs: Number.NaN })).rejects.toMatchObject({ kind: 'pef/validation-error' });
    } finally {
      await conn.close();
    }
  });
});
