/**
 * A real OpenSSH server for integration tests and benchmarks, started from a temp dir as a
 * child process and bound to loopback only.
 *
 * `startSshd()` generates host keys (ed25519, ecdsa, rsa) and a client key, writes an
 * sshd_config (ListenAddress on 127.0.20.1 by default, a free port, PidFile, authorized_keys
 * and log in the temp dir, `LogLevel VERBOSE` so every accepted TCP connection is logged),
 * runs `/usr/sbin/sshd -D -e -f cfg`, and resolves once it answers with an SSH banner.
 * `stop()` kills it (and its per-connection processes) by pid and removes the dir.
 *
 * Many targets: one sshd listens on at most 16 addresses (OpenSSH's MAX_LISTEN_SOCKS), and
 * all of 127.0.0.0/8 is loopback on Linux, so no address needs to be configured.
 * `startSshdFleet(addresses)` starts one sshd per 16 addresses, all on one port and with one
 * key set and one known_hosts file, e.g. for 200 aliases 127.0.21.1 … 127.0.21.200:
 *   const fleet = await startSshdFleet(loopbackRange('127.0.21', 1, 200));
 *   fleet.target(fleet.hosts[i]) … await fleet.stop();
 *
 * Needs root (we are), /usr/sbin/sshd, and /run/sshd for privilege separation (created here).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SshConfig, Target } from '../../src/inventory/target.js';

const run = promisify(execFile);

/** Host key types the helper can generate. */
export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

/** Key material shared by one or more sshd instances. */
export interface SshdKeys {
  dir: string;
  /** Public host keys as `type base64` (the known_hosts key part), by type. */
  hostKeys: Partial<Record<HostKeyType, string>>;
  hostKeyPaths: string[];
  privateKeyPath: string;
  authorizedKeysFile: string;
}

/** Options of startSshd. */
export interface SshdOptions {
  /** Loopback addresses to listen on, at most 16 (default ['127.0.20.1']). */
  addresses?: string[];
  /** Port (default: a free one). */
  port?: number;
  hostKeyTypes?: HostKeyType[];
  /** Reuse keys generated earlier (a fleet shares one set). */
  keys?: SshdKeys;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
}

/** A running sshd. */
export interface Sshd {
  /** The first listen address. */
  host: string;
  hosts: string[];
  port: number;
  /** The user tests log in as. */
  user: string;
  dir: string;
  /** known_hosts with every host key for every `[address]:port`. */
  knownHostsFile: string;
  privateKeyPath: string;
  logFile: string;
  pid: number;
  keys: SshdKeys;
  /** TCP connections sshd has accepted so far (from its VERBOSE log). */
  connectionCount(): Promise<number>;
  /** Pids of the per-connection sshd processes (children of the listener). */
  sessionPids(): Promise<number[]>;
  /** A Target for this sshd; `ssh` overrides the defaults (root, key, known_hosts, 5 s connect timeout). */
  target(ssh?: Partial<SshConfig>, name?: string): Target;
  stop(): Promise<void>;
}

/** Generates host keys and a client key in `dir`. */
export async function generateSshdKeys(
  dir: string,
  types: readonly HostKeyType[] = ['ed25519', 'ecdsa', 'rsa'],
): Promise<SshdKeys> {
  const hostKeys: SshdKeys['hostKeys'] = {};
  const hostKeyPaths: string[] = [];
  const privateKeyPath = join(dir, 'client_ed25519');
  await Promise.all([
    ...types.map(async (type) => {
      const path = join(dir, `host_${type}`);
      await run('ssh-keygen', [
        '-q',
        '-t',
        type,
        ...(type === 'rsa' ? ['-b', '2048'] : []),
        '-N',
        '',
        '-C',
        '',
        '-f',
        path,
      ]);
      hostKeys[type] = (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
      hostKeyPaths.push(path);
    }),
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pef-test', '-f', privateKeyPath]),
  ]);
  // sshd reads authorized_keys as the logging-in user, who must be able to reach it.
  await chmod(dir, 0o711);
  const authorizedKeysFile = join(dir, 'authorized_keys');
  await writeFile(authorizedKeysFile, await readFile(`${privateKeyPath}.pub`, 'utf8'), { mode: 0o644 });
  return { dir, hostKeys, hostKeyPaths: hostKeyPaths.sort(), privateKeyPath, authorizedKeysFile };
}

/** Starts one sshd; see the file comment. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const addresses = options.addresses ?? ['127.0.20.1'];
  if (addresses.length === 0 || addresses.length > 16)
    throw new RangeError(`sshd listens on 1 to 16 addresses, got ${addresses.length}`);
  for (const a of addresses)
    if (!a.startsWith('127.')) throw new RangeError(`test sshd must listen on loopback only, not ${a}`);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'pef-sshd-'));
  try {
    const keys = options.keys ?? (await generateSshdKeys(dir, options.hostKeyTypes));
    // A free port can be taken between probing and binding; try a few.
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort(addresses[0] as string));
      try {
        return await launch(dir, addresses, port, keys, options.extraConfig ?? []);
      } catch (error) {
        if (options.port !== undefined || attempt >= 4 || !/Address already in use|Cannot bind/i.test(String(error)))
          throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Several sshd instances behind many loopback addresses, sharing port, keys and known_hosts. */
export interface SshdFleet {
  hosts: string[];
  port: number;
  knownHostsFile: string;
  privateKeyPath: string;
  instances: Sshd[];
  /** A Target for one of `hosts`. */
  target(host: string, ssh?: Partial<SshConfig>, name?: string): Target;
  connectionCount(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts ceil(n/16) sshd instances for `addresses`; see the file comment. */
export async function startSshdFleet(
  addresses: readonly string[],
  options: Omit<SshdOptions, 'addresses' | 'keys'> = {},
): Promise<SshdFleet> {
  const dir = await mkdtemp(join(tmpdir(), 'pef-sshd-fleet-'));
  const keys = await generateSshdKeys(dir, options.hostKeyTypes);
  const instances: Sshd[] = [];
  try {
    const port = options.port ?? (await freePort(addresses[0] ?? '127.0.0.1'));
    for (let i = 0; i < addresses.length; i += 16)
      instances.push(await startSshd({ ...options, addresses: addresses.slice(i, i + 16), keys, port }));
    const knownHostsFile = join(dir, 'known_hosts');
    await writeFile(knownHostsFile, knownHostsLines(addresses, port, keys));
    const byHost = new Map(instances.flatMap((s) => s.hosts.map((h) => [h, s] as const)));
    return {
      hosts: [...addresses],
      port,
      knownHostsFile,
      privateKeyPath: keys.privateKeyPath,
      instances,
      target: (host, ssh = {}, name) => {
        const instance = byHost.get(host);
        if (instance === undefined) throw new RangeError(`${host} is not served by this fleet`);
        return instance.target({ host, knownHosts: knownHostsFile, ...ssh }, name);
      },
      connectionCount: async () =>
        (await Promise.all(instances.map((s) => s.connectionCount()))).reduce((a, b) => a + b, 0),
      stop: async () => {
        await Promise.all(instances.map((s) => s.stop()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(instances.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `prefix.from` … `prefix.to`, e.g. loopbackRange('127.0.21', 1, 200). */
export function loopbackRange(prefix: string, from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${prefix}.${from + i}`);
}

/** known_hosts lines for every address and key type. */
export function knownHostsLines(addresses: readonly string[], port: number, keys: SshdKeys): string {
  return addresses.flatMap((a) => Object.values(keys.hostKeys).map((k) => `[${a}]:${port} ${k}\n`)).join('');
}

async function launch(
  dir: string,
  addresses: readonly string[],
  port: number,
  keys: SshdKeys,
  extra: readonly string[],
): Promise<Sshd> {
  const tag = `${addresses[0]}-${port}`;
  const config = join(dir, `sshd_config-${tag}`);
  const logFile = join(dir, `sshd-${tag}.log`);
  const pidFile = join(dir, `sshd-${tag}.pid`);
  await writeFile(
    config,
    [
      `Port ${port}`,
      ...addresses.map((a) => `ListenAddress ${a}`),
      ...keys.hostKeyPaths.map((k) => `HostKey ${k}`),
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${keys.authorizedKeysFile}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'MaxStartups 300:30:400',
      'MaxSessions 10',
      'UseDNS no',
      'PrintMotd no',
      'LogLevel VERBOSE',
      'Subsystem sftp internal-sftp',
      ...extra,
      '',
    ].join('\n'),
  );
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('sshd did not start');
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => ((exited = `sshd exited (${code ?? signal})`), resolve())),
  );
  try {
    await Promise.all(addresses.map((a) => waitForBanner(a, port, () => exited)));
  } catch (error) {
    if (exited === undefined) child.kill('SIGKILL');
    const text = await readFile(logFile, 'utf8').catch(() => '');
    throw new Error(`${(error as Error).message}\n${text}`, { cause: error });
  }
  const knownHostsFile = join(dir, `known_hosts-${tag}`);
  await writeFile(knownHostsFile, knownHostsLines(addresses, port, keys));
  const sessionPids = async (): Promise<number[]> => {
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(pid)]).catch(() => ({ stdout: '' }));
    return stdout
      .split('\n')
      .map((s) => Number.parseInt(s, 10))
      .filter((n) => !Number.isNaN(n));
  };
  let stopped = false;
  return {
    host: addresses[0] as string,
    hosts: [...addresses],
    port,
    user: 'root',
    dir,
    knownHostsFile,
    privateKeyPath: keys.privateKeyPath,
    logFile,
    pid,
    keys,
    connectionCount: async () =>
      ((await readFile(logFile, 'utf8')).match(/^.*Connection from .* port \d+ on .* port \d+/gm) ?? []).length,
    sessionPids,
    target: (ssh = {}, name) => {
      const host = ssh.host ?? addresses[0] ?? '127.0.20.1';
      return {
        name: name ?? host,
        aliases: [],
        groups: [],
        vars: {},
        facts: {},
        config: {
          transport: 'ssh',
          ssh: {
            host,
            port,
            user: 'root',
            privateKey: { path: keys.privateKeyPath },
            hostKeyCheck: true,
            knownHosts: knownHostsFile,
            connectTimeout: 5,
            ...ssh,
          },
        },
      };
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const children = await sessionPids();
      for (const p of [pid, ...children]) {
        try {
          process.kill(p, 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
      if (exited === undefined) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exit, new Promise((r) => (timer = setTimeout(r, 3000)))]);
        clearTimeout(timer);
      }
      if (exited === undefined) child.kill('SIGKILL');
      // Shared keys live in the fleet's dir, which the fleet removes.
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function waitForBanner(
  host: string,
  port: number,
  exited: () => string | undefined,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = exited();
    if (why !== undefined) throw new Error(why);
    if (await banner(host, port)) return;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function banner(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
    socket.once('error', () => done(false));
  });
}
