/**
 * One connection per target per run, against a real sshd: steps reuse one TCP connection,
 * the pool never opens two for one target, files go over the same connection, and a
 * connection that dies mid-command fails with `pef/connection-lost` (and is replaced).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PefError } from '../../../src/errors/pef-error.js';
import { ConnectionPool, type CommandEvent } from '../../../src/transport/connection-pool.js';
import { SshTransport } from '../../../src/transport/ssh-transport.js';
import { transportFor } from '../../../src/transport/transports.js';
import { Sensitive } from '../../../src/util/sensitive.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

// Real processes on a shared 2-core machine: allow for load.
jest.setTimeout(60_000);

const run = promisify(execFile);
let sshd: Sshd;
let dir: string;

beforeAll(async () => {
  // Two addresses: two targets on one sshd.
  sshd = await startSshd({ addresses: ['127.0.20.1', '127.0.20.2'] });
  dir = await mkdtemp(join(tmpdir(), 'pef-reuse-test-'));
}, 30_000);

afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('connection reuse', () => {
  it('runs many steps and transfers over one TCP connection', async () => {
    const before = await sshd.connectionCount();
    const pool = new ConnectionPool(transportFor);
    const target = sshd.target();
    const local = join(dir, 'steps.txt');
    await writeFile(local, 'payload\n');
    try {
      for (let step = 0; step < 25; step++) {
        const conn = await pool.get(target);
        expect((await conn.run(`echo step-${step}`)).stdout).toBe(`step-${step}\n`);
      }
      const conn = await pool.get(target);
      const remote = join(dir, `remote-${randomBytes(4).toString('hex')}`);
      await conn.upload(local, remote);
      await conn.download(remote, join(dir, 'back.txt'));
      await conn.upload(local, `${remote}-2`);
    } finally {
      await pool.closeAll();
    }
    expect((await sshd.connectionCount()) - before).toBe(1);
  });

  it('opens exactly one connection per target under concurrent get()', async () => {
    const before = await sshd.connectionCount();
    let connects = 0;
    const pool = new ConnectionPool((name) => {
      const inner = transportFor(name);
      return { name, connect: (t) => (connects++, inner.connect(t)) };
    });
    const a = sshd.target({}, 'a');
    const b = sshd.target({ host: '127.0.20.2' }, 'b');
    try {
      const conns = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.get(i % 2 === 0 ? a : b)));
      expect(new Set(conns).size).toBe(2);
      const outs = await Promise.all(conns.map((c, i) => c.run(`echo ${i}`)));
      outs.forEach((o, i) => expect(o.stdout).toBe(`${i}\n`));
    } finally {
      await pool.closeAll();
    }
    expect(connects).toBe(2);
    expect((await sshd.connectionCount()) - before).toBe(2);
  });

  it('reports every command to onCommand, redacted', async () => {
    const events: CommandEvent[] = [];
    const secret = new Sensitive(`s3cret-${randomBytes(4).toString('hex')}`);
    const pool = new ConnectionPool(transportFor, { onCommand: (e) => events.push(e) });
    const target = sshd.target({}, 'logged');
    try {
      const conn = await pool.get(target);
      await conn.run(`echo ${secret.unwrap()} >/dev/null; exit 2`);
      await conn.run('sleep 5', { timeoutMs: 200 }).catch(() => undefined);
    } finally {
      await pool.closeAll();
    }
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      target: 'logged',
      kind: 'command',
      command: 'echo [sensitive] >/dev/null; exit 2',
      exitCode: 2,
    });
    expect(events[1]).toMatchObject({ command: 'sleep 5', exitCode: null });
    expect(events[1]?.error).toMatch(/^pef\/timeout: /);
  });
});

describe('command channels', () => {
  it('with two persistent shells, a command can run while another waits', async () => {
    const conn = await new SshTransport({ commandChannels: 2 }).connect(sshd.target());
    const flag = join(dir, `flag-${randomBytes(4).toString('hex')}`);
    try {
      // With one shell the waiter would block the toucher until its timeout.
      const waiter = conn.run(`while [ ! -e ${flag} ]; do sleep 0.05; done; echo seen`, { timeoutMs: 10_000 });
      const toucher = conn.run(`sleep 0.2; touch ${flag}; echo touched`);
      expect((await toucher).stdout).toBe('touched\n');
      expect((await waiter).stdout).toBe('seen\n');
      expect(conn.mode).toBe('persistent');
    } finally {
      await conn.close();
    }
  });
});

describe('file transfer', () => {
  it('round-trips binary content and sets the mode asked for', async () => {
    const conn = await new SshTransport().connect(sshd.target());
    try {
      const local = join(dir, 'binary');
      const content = randomBytes(300_000);
      await writeFile(local, content);
      const remote = join(dir, 'uploaded');
      await conn.upload(local, remote, { mode: 0o751 });
      expect((await stat(remote)).mode & 0o777).toBe(0o751);
      expect((await readFile(remote)).equals(content)).toBe(true);
      const back = join(dir, 'downloaded');
      await conn.download(remote, back);
      expect((await readFile(back)).equals(content)).toBe(true);
    } finally {
      await conn.close();
    }
  });

  it('fails with pef/transfer-failed naming both paths', async () => {
    const conn = await new SshTransport().connect(sshd.target());
    try {
      const local = join(dir, 'small');
      await writeFile(local, 'x');
      const error = await conn.upload(local, '/nonexistent-dir/file').catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'pef/transfer-failed' });
      expect((error as PefError).message).toContain('/nonexistent-dir/file');
      expect((error as PefError).message).toContain(local);
      // The connection is still fine.
      expect((await conn.run('echo ok')).stdout).toBe('ok\n');
    } finally {
      await conn.close();
    }
  });
});

describe('connection loss', () => {
  it('fails the running command with pef/connection-lost, and the pool reconnects', async () => {
    const pool = new ConnectionPool(transportFor);
    const target = sshd.target({}, 'lossy');
    try {
      const conn = await pool.get(target);
      expect((await conn.run('echo up')).stdout).toBe('up\n');
      const running = conn.run('sleep 20.5').catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      // This file's tests run one after another, so the listener's session children are this
      // connection's (plus, at most, ones already closing).
      for (const pid of await sshd.sessionPids()) await run('kill', ['-9', String(pid)]).catch(() => undefined);
      const error = await running;
      expect(error).toBeInstanceOf(PefError);
      expect(error).toMatchObject({ kind: 'pef/connection-lost' });
      expect(conn.alive).toBe(false);
      await expect(conn.run('echo again')).rejects.toMatchObject({ kind: 'pef/connection-lost' });
      const fresh = await pool.get(target);
      expect(fresh).not.toBe(conn);
      expect((await fresh.run('echo back')).stdout).toBe('back\n');
    } finally {
      await pool.closeAll();
    }
  });
});
