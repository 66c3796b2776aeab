/**
 * Connecting with the ssh transport against a real sshd: host key checking, authentication,
 * and targets that are down or never speak SSH.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PefError } from '../../../src/errors/pef-error.js';
import { SshTransport } from '../../../src/transport/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

// Real processes on a shared 2-core machine: allow for load.
jest.setTimeout(60_000);

const run = promisify(execFile);
let sshd: Sshd;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd();
  dir = await mkdtemp(join(tmpdir(), 'pef-connect-test-'));
}, 30_000);

afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function connectError(target: ReturnType<Sshd['target']>): Promise<PefError> {
  const error = await new SshTransport()
    .connect(target)
    .then(async (c) => {
      await c.close();
      return undefined;
    })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PefError);
  return error as PefError;
}

async function echoOver(target: ReturnType<Sshd['target']>): Promise<string> {
  const conn = await new SshTransport().connect(target);
  try {
    return (await conn.run('echo ok')).stdout;
  } finally {
    await conn.close();
  }
}

describe('host keys', () => {
  const name = (): string => `[${sshd.host}]:${sshd.port}`;

  it('accepts a host whose key is in known_hosts (plain entries)', async () => {
    expect(await echoOver(sshd.target())).toBe('ok\n');
  });

  it('accepts hashed known_hosts entries', async () => {
    const file = join(dir, 'hashed');
    await writeFile(file, await readFile(sshd.knownHostsFile, 'utf8'));
    await run('ssh-keygen', ['-q', '-H', '-f', file]);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^\|1\|/);
    expect(text).not.toContain(sshd.host);
    expect(await echoOver(sshd.target({ knownHosts: file }))).toBe('ok\n');
  });

  it.each(['rsa', 'ecdsa', 'ed25519'] as const)(
    'asks the server for the key type known_hosts has (%s only)',
    async (type) => {
      const file = join(dir, `only-${type}`);
      await writeFile(file, `${name()} ${sshd.keys.hostKeys[type]}\n`);
      expect(await echoOver(sshd.target({ knownHosts: file }))).toBe('ok\n');
    },
  );

  it('refuses a host whose key changed, naming the file and line', async () => {
    const other = join(dir, 'other_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const otherKey = (await readFile(`${other}.pub`, 'utf8')).split(/\s+/).slice(0, 2).join(' ');
    const file = join(dir, 'changed');
    await writeFile(file, `# a comment\nsomeotherhost ${sshd.keys.hostKeys.ed25519}\n${name()} ${otherKey}\n`);
    const error = await connectError(sshd.target({ knownHosts: file }));
    expect(error.kind).toBe('pef/host-key-mismatch');
    expect(error.message).toContain('CHANGED');
    expect(error.message).toContain(`${file}:3`);
    expect(error.details).toMatchObject({ file, line: 3, port: sshd.port });
  });

  it('refuses an unknown host and says how to add it', async () => {
    const file = join(dir, 'empty');
    await writeFile(file, `[${sshd.host}]:${sshd.port + 1} ${sshd.keys.hostKeys.ed25519}\n`);
    const error = await connectError(sshd.target({ knownHosts: file }));
    expect(error.kind).toBe('pef/host-key-unknown');
    expect(error.message).toContain(`ssh-keyscan -p ${sshd.port} ${sshd.host} >> ${file}`);
    expect(error.message).toContain('host-key-check: false');
  });

  it('treats a missing known_hosts file as knowing no host', async () => {
    const error = await connectError(sshd.target({ knownHosts: join(dir, 'does-not-exist') }));
    expect(error.kind).toBe('pef/host-key-unknown');
  });

  it('skips the check with host-key-check: false', async () => {
    expect(await echoOver(sshd.target({ hostKeyCheck: false, knownHosts: join(dir, 'does-not-exist') }))).toBe('ok\n');
  });
});

describe('authentication', () => {
  it('reports a key the server does not accept as pef/auth-failed', async () => {
    const key = join(dir, 'stranger');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const error = await connectError(sshd.target({ privateKey: { path: key } }));
    expect(error.kind).toBe('pef/auth-failed');
    expect(error.message).toContain('root');
  });

  it('reports an unreadable key file as pef/auth-failed naming the file', async () => {
    const missing = join(dir, 'no-such-key');
    const error = await connectError(sshd.target({ privateKey: { path: missing } }));
    expect(error.kind).toBe('pef/auth-failed');
    expect(error.message).toContain(missing);
  });
});

describe('unreachable targets', () => {
  it('fails fast with pef/connect-failed on a closed port', async () => {
    const closed = await closedPort();
    const error = await connectError(sshd.target({ port: closed, connectTimeout: 30 }));
    expect(error.kind).toBe('pef/connect-failed');
    expect(error.message).toContain(`${sshd.host}:${closed}`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.details).toMatchObject({ host: sshd.host, port: closed });
  });

  it('gives up on a port that accepts TCP but never speaks SSH, after connect-timeout', async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.20.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const error = await connectError(sshd.target({ port, connectTimeout: 1 }));
      expect(error.kind).toBe('pef/timeout');
      expect(error.message).toContain('1 s');
      expect(sockets.length).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

// A port nothing listens on: bind one, then close it.
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.20.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
