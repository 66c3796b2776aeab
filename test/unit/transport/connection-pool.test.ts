import { describe, expect, it } from '@jest/globals';
import { PefError } from '../../../src/errors/pef-error.js';
import type { Target, TransportName } from '../../../src/inventory/target.js';
import { ConnectionPool, type CommandEvent } from '../../../src/transport/connection-pool.js';
import type { Connection, Transport } from '../../../src/transport/transport.js';
import { Sensitive } from '../../../src/util/sensitive.js';

function target(name: string, transport: TransportName = 'ssh'): Target {
  return {
    name,
    aliases: [],
    groups: [],
    vars: {},
    facts: {},
    config: { transport, ssh: { host: name, port: 22, user: 'root', hostKeyCheck: true, connectTimeout: 10 } },
  };
}

interface FakeConnection extends Connection {
  alive: boolean;
  closed: number;
}

// A transport whose connect waits a tick (so concurrent gets overlap) and can be told to fail.
function fakeTransport(
  name: TransportName,
  opts: { failFirst?: boolean } = {},
): Transport & { connects: string[]; made: FakeConnection[] } {
  const connects: string[] = [];
  const made: FakeConnection[] = [];
  let failed = false;
  return {
    name,
    connects,
    made,
    connect: async (t) => {
      connects.push(t.name);
      await new Promise((r) => setTimeout(r, 10));
      if (opts.failFirst && !failed) {
        failed = true;
        throw new PefError('pef/connect-failed', `cannot reach ${t.name}`);
      }
      const c: FakeConnection = {
        target: t,
        alive: true,
        closed: 0,
        run: async (command) => {
          if (command === 'boom') throw new PefError('pef/timeout', 'too slow');
          return { stdout: command, stderr: '', exitCode: command === 'fail' ? 1 : 0, durationMs: 1 };
        },
        upload: async () => undefined,
        download: async () => undefined,
        close: async () => {
          c.closed++;
        },
      };
      made.push(c);
      return c;
    },
  };
}

describe('ConnectionPool', () => {
  it('opens one connection per target, however many ask at once', async () => {
    const ssh = fakeTransport('ssh');
    const pool = new ConnectionPool(() => ssh);
    const [a, b] = [target('a'), target('b')];
    const got = await Promise.all([pool.get(a), pool.get(b), pool.get(a), pool.get(a), pool.get(b)]);
    expect(ssh.connects.sort()).toEqual(['a', 'b']);
    expect(got[0]).toBe(got[2]);
    expect(got[1]).toBe(got[4]);
    expect(await pool.get(a)).toBe(got[0]);
  });

  it('asks the factory once per transport name', async () => {
    const asked: TransportName[] = [];
    const pool = new ConnectionPool((name) => (asked.push(name), fakeTransport(name)));
    await Promise.all([pool.get(target('a')), pool.get(target('b')), pool.get(target('l', 'local'))]);
    expect(asked).toEqual(['ssh', 'local']);
  });

  it('shares a failed connect with concurrent callers, then tries again', async () => {
    const ssh = fakeTransport('ssh', { failFirst: true });
    const pool = new ConnectionPool(() => ssh);
    const results = await Promise.allSettled([pool.get(target('a')), pool.get(target('a'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(ssh.connects).toEqual(['a']);
    await expect(pool.get(target('a'))).resolves.toBeDefined();
    expect(ssh.connects).toEqual(['a', 'a']);
  });

  it('replaces a connection that is no longer alive', async () => {
    const ssh = fakeTransport('ssh');
    const pool = new ConnectionPool(() => ssh);
    const first = await pool.get(target('a'));
    (ssh.made[0] as FakeConnection).alive = false;
    const second = await pool.get(target('a'));
    expect(second).not.toBe(first);
    expect(ssh.connects).toEqual(['a', 'a']);
  });

  it('closes every connection once on closeAll, and can be used again', async () => {
    const ssh = fakeTransport('ssh');
    const pool = new ConnectionPool(() => ssh);
    await Promise.all([pool.get(target('a')), pool.get(target('b'))]);
    await pool.closeAll();
    expect(ssh.made.map((c) => c.closed)).toEqual([1, 1]);
    await pool.get(target('a'));
    expect(ssh.connects).toHaveLength(3);
  });

  it('reports commands and transfers to onCommand, redacted, errors included', async () => {
    const events: CommandEvent[] = [];
    const secret = new Sensitive('hunter2-secret');
    const pool = new ConnectionPool(() => fakeTransport('ssh'), { onCommand: (e) => events.push(e) });
    const conn = await pool.get(target('a'));
    expect((await conn.run(`login ${secret.unwrap()}`)).exitCode).toBe(0);
    await conn.run('fail');
    await expect(conn.run('boom')).rejects.toMatchObject({ kind: 'pef/timeout' });
    await conn.upload('/l', '/r');
    expect(events.map(({ durationMs, ...e }) => (expect(durationMs).toBeGreaterThanOrEqual(0), e))).toEqual([
      { target: 'a', kind: 'command', command: 'login [sensitive]', exitCode: 0 },
      { target: 'a', kind: 'command', command: 'fail', exitCode: 1 },
      { target: 'a', kind: 'command', command: 'boom', exitCode: null, error: 'pef/timeout: too slow' },
      { target: 'a', kind: 'upload', command: '/l -> /r', exitCode: 0 },
    ]);
  });

  it('a throwing onCommand does not break the run', async () => {
    const pool = new ConnectionPool(() => fakeTransport('ssh'), {
      onCommand: () => {
        throw new Error('log broke');
      },
    });
    const conn = await pool.get(target('a'));
    expect((await conn.run('x')).stdout).toBe('x');
  });
});
