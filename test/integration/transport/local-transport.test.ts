/**
 * The local transport with real processes: the same run() semantics as ssh targets.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PefError } from '../../../src/errors/pef-error.js';
import type { Target } from '../../../src/inventory/target.js';
import { LocalTransport, type LocalConnection } from '../../../src/transport/local-transport.js';
import type { Stream } from '../../../src/transport/transport.js';

// Real processes on a shared 2-core machine: allow for load.
jest.setTimeout(60_000);

const run = promisify(execFile);
const target: Target = {
  name: 'localhost',
  aliases: [],
  groups: [],
  vars: {},
  facts: {},
  config: {
    transport: 'local',
    ssh: { host: 'localhost', port: 22, user: 'root', hostKeyCheck: true, connectTimeout: 10 },
  },
};
let conn: LocalConnection;
let dir: string;

beforeAll(async () => {
  conn = await new LocalTransport({ killAfterMs: 500 }).connect(target);
  dir = await mkdtemp(join(tmpdir(), 'pef-local-test-'));
});

afterAll(async () => {
  await conn?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('LocalTransport', () => {
  it('keeps stdout, stderr and the exit code apart, starting in the home directory', async () => {
    expect(await conn.run('pwd; echo err >&2; exit 5')).toMatchObject({
      stdout: `${homedir()}\n`,
      stderr: 'err\n',
      exitCode: 5,
    });
  });

  it('passes stdin, and /dev/null without it', async () => {
    expect((await conn.run('cat', { stdin: 'ünï\nline' })).stdout).toBe('ünï\nline');
    expect((await conn.run('cat; echo done')).stdout).toBe('done\n');
    expect((await conn.run('exit 0', { stdin: 'x'.repeat(1_000_000) })).exitCode).toBe(0);
  });

  it('adds per-command env without leaking it', async () => {
    expect((await conn.run('echo "$PEF_LOCAL"', { env: { PEF_LOCAL: "it's" } })).stdout).toBe("it's\n");
    expect((await conn.run('echo "${PEF_LOCAL-unset}"')).stdout).toBe('unset\n');
  });

  it('streams output as it arrives', async () => {
    const chunks: { stream: Stream; chunk: string; settled: boolean }[] = [];
    let settled = false;
    const out = await conn
      .run('printf first; sleep 0.4; printf second >&2', {
        onOutput: (stream, chunk) => chunks.push({ stream, chunk, settled }),
      })
      .finally(() => (settled = true));
    expect(out).toMatchObject({ stdout: 'first', stderr: 'second' });
    expect(chunks.find((c) => c.chunk === 'first')).toMatchObject({ stream: 'stdout', settled: false });
  });

  it('stops a command and its children at the timeout', async () => {
    const error = await conn.run('sleep 40.5 & sleep 40.5; wait', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PefError);
    expect(error).toMatchObject({ kind: 'pef/timeout' });
    const left = await run('sh', ['-c', 'pgrep -f "^sleep 40.5$" || true']);
    expect(left.stdout).toBe('');
    expect((await conn.run('echo next')).stdout).toBe('next\n');
  });

  it('stops a cancelled command and its children with pef/cancelled, and never starts one already cancelled', async () => {
    const controller = new AbortController();
    const running = conn.run('sleep 41.5 & echo started; sleep 41.5; wait', {
      signal: controller.signal,
      onOutput: (_s, chunk) => {
        if (chunk.includes('started')) controller.abort();
      },
    });
    await expect(running).rejects.toMatchObject({ kind: 'pef/cancelled', details: { started: true } });
    const left = await run('sh', ['-c', 'pgrep -f "^sleep 41.5$" || true']);
    expect(left.stdout).toBe('');
    const file = join(dir, 'never');
    await expect(conn.run(`touch ${file}`, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      kind: 'pef/cancelled',
      details: { started: false },
    });
    await expect(stat(file)).rejects.toThrow();
    expect((await conn.run('echo next')).stdout).toBe('next\n');
  });

  it('applies the default limit to a command that names none; timeoutMs 0 lifts it', async () => {
    const limited = await new LocalTransport({ killAfterMs: 500, commandTimeoutMs: 300 }).connect(target);
    try {
      await expect(limited.run('sleep 5')).rejects.toMatchObject({ kind: 'pef/timeout', details: { timeoutMs: 300 } });
      expect((await limited.run('sleep 0.6; echo done', { timeoutMs: 0 })).stdout).toBe('done\n');
    } finally {
      await limited.close();
    }
  });

  it('copies files for upload and download, with the mode asked for', async () => {
    const src = join(dir, 'src');
    await writeFile(src, 'content');
    await conn.upload(src, join(dir, 'up'), { mode: 0o600 });
    expect((await stat(join(dir, 'up'))).mode & 0o777).toBe(0o600);
    await conn.download(join(dir, 'up'), join(dir, 'down'));
    expect(await readFile(join(dir, 'down'), 'utf8')).toBe('content');
    await expect(conn.upload(join(dir, 'missing'), join(dir, 'x'))).rejects.toMatchObject({
      kind: 'pef/transfer-failed',
    });
  });
});
