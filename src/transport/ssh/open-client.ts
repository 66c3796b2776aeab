/**
 * Opens one authenticated SSH connection (node-ssh over ssh2) to a target and turns every way
 * that can fail into a PefError that names the host, port and fix: `pef/connect-failed`,
 * `pef/timeout`, `pef/auth-failed`, `pef/host-key-unknown`, `pef/host-key-mismatch`.
 * Host keys are checked against known_hosts by default (see known-hosts.ts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Config, NodeSSH } from 'node-ssh';
import { PefError } from '../../errors/pef-error.js';
import type { Target } from '../../inventory/target.js';
import { redact } from '../../util/sensitive.js';
import { describeTarget } from '../command-errors.js';
import {
  keyTypeOf,
  knownHostName,
  loadKnownHosts,
  preferredHostKeyAlgorithms,
  verifyHostKey,
  type HostKeyVerdict,
} from './known-hosts.js';
import type { Ssh2Error } from './ssh2-types.js';

/** Keepalive and other knobs of the connection itself. */
export interface OpenClientOptions {
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
}

/** The known_hosts files checked when the target names none, as OpenSSH does. */
export function defaultKnownHostsFiles(): string[] {
  return [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

/** Connects and authenticates; see the file comment. */
export async function openClient(target: Target, options: OpenClientOptions): Promise<NodeSSH> {
  const ssh = target.config.ssh;
  const { NodeSSH } = await import('node-ssh');
  const knownHostsFiles = ssh.knownHosts === undefined ? defaultKnownHostsFiles() : [ssh.knownHosts];
  let verdict: HostKeyVerdict | undefined;
  let presentedType: string | undefined;
  const config: Config = {
    host: ssh.host,
    port: ssh.port,
    username: ssh.user,
    readyTimeout: ssh.connectTimeout * 1000,
    keepaliveInterval: options.keepaliveIntervalMs,
    keepaliveCountMax: options.keepaliveCountMax,
    ...(await credentials(target)),
  };
  if (ssh.hostKeyCheck) {
    const entries = await loadKnownHosts(knownHostsFiles).catch((error: unknown) => {
      throw new PefError(
        'pef/file-error',
        `Cannot read known_hosts (${knownHostsFiles.join(', ')}): ${(error as Error).message}`,
        { files: knownHostsFiles },
      );
    });
    const preferred = preferredHostKeyAlgorithms(entries, ssh.host, ssh.port);
    // Offer the key types known_hosts has first, so the server shows a key we can check.
    if (preferred.length > 0) config.algorithms = { serverHostKey: { remove: preferred, prepend: preferred } };
    config.hostVerifier = (key: Buffer): boolean => {
      presentedType = keyTypeOf(key);
      verdict = verifyHostKey(entries, ssh.host, ssh.port, key);
      return verdict.status === 'match';
    };
  }
  const client = new NodeSSH();
  try {
    await client.connect(config);
  } catch (error) {
    client.dispose();
    if (verdict !== undefined && verdict.status !== 'match')
      throw hostKeyError(target, verdict, presentedType, knownHostsFiles);
    throw connectError(target, error as Ssh2Error);
  }
  // ssh2 leaves Nagle on: small writes then wait ~40 ms for the peer's delayed ACK, which an exec
  // channel pays per command and the persistent shell pays once when it starts (bench/).
  (client.connection as { setNoDelay?: (noDelay: boolean) => void } | null)?.setNoDelay?.(true);
  return client;
}

async function credentials(target: Target): Promise<Partial<Config>> {
  const ssh = target.config.ssh;
  const out: Partial<Config> = {};
  if (ssh.privateKey !== undefined) {
    if ('path' in ssh.privateKey) {
      const path = ssh.privateKey.path;
      try {
        out.privateKey = await readFile(path, 'utf8');
      } catch (error) {
        throw new PefError(
          'pef/auth-failed',
          `Cannot read the private key ${path} for ${describeTarget(target)}: ${(error as Error).message}. Fix config.ssh.private-key in the inventory.`,
          { target: target.name, host: ssh.host, privateKey: path },
        );
      }
    } else {
      out.privateKey = ssh.privateKey.data.unwrap();
    }
  }
  if (ssh.password !== undefined) {
    out.password = ssh.password.unwrap();
    out.tryKeyboard = true;
  }
  if (ssh.privateKey === undefined && ssh.password === undefined) {
    // Like ssh(1): the agent if there is one, else the first default key file.
    if (process.env['SSH_AUTH_SOCK']) out.agent = process.env['SSH_AUTH_SOCK'];
    else {
      const key = ['id_ed25519', 'id_ecdsa', 'id_rsa']
        .map((f) => join(homedir(), '.ssh', f))
        .find((f) => existsSync(f));
      if (key !== undefined) out.privateKey = await readFile(key, 'utf8');
    }
  }
  return out;
}

function hostKeyError(
  target: Target,
  verdict: Exclude<HostKeyVerdict, { status: 'match' }>,
  presentedType: string | undefined,
  files: readonly string[],
): PefError {
  const { host, port } = target.config.ssh;
  const name = knownHostName(host, port);
  const where = describeTarget(target);
  const keyscan = `ssh-keyscan -p ${port} ${host} >> ${files[0] ?? '~/.ssh/known_hosts'}`;
  if (verdict.status === 'unknown') {
    const others =
      verdict.otherKeyTypes.length === 0
        ? ''
        : ` (it knows ${verdict.otherKeyTypes.join(', ')} keys for it, but the server offered ${presentedType ?? 'another type'})`;
    return new PefError(
      'pef/host-key-unknown',
      `The host key of ${where} is not in known_hosts (${files.join(', ')})${others}. After checking the key's fingerprint, add it with \`${keyscan}\`, ` +
        `or set config.ssh.host-key-check: false for this target.`,
      { target: target.name, host, port, knownHosts: files, keyType: presentedType },
    );
  }
  const { file, line } = verdict.entry;
  if (verdict.status === 'revoked') {
    return new PefError(
      'pef/host-key-mismatch',
      `${where} presented a host key that is marked @revoked in ${file}:${line}. Connection refused.`,
      {
        target: target.name,
        host,
        port,
        file,
        line,
      },
    );
  }
  return new PefError(
    'pef/host-key-mismatch',
    `The host key of ${where} has CHANGED: the server's ${presentedType ?? ''} key differs from the one for ${name} in ${file}:${line}. This may be a reinstalled host ` +
      `or someone intercepting the connection; connection refused. If the change is expected, remove the old key (\`ssh-keygen -R '${name}' -f ${file}\`) and add the new one.`,
    { target: target.name, host, port, file, line, keyType: presentedType },
  );
}

function connectError(target: Target, error: Ssh2Error): PefError {
  const { host, port, user, connectTimeout } = target.config.ssh;
  const where = describeTarget(target);
  const cause = redact(error.message ?? String(error));
  const details = { target: target.name, host, port, cause };
  if (error.level === 'client-timeout') {
    return new PefError(
      'pef/timeout',
      `${where} did not complete the SSH handshake within ${connectTimeout} s (connect-timeout): is sshd running and reachable there? Raise config.ssh.connect-timeout for slow links.`,
      details,
      { cause: error },
    );
  }
  if (error.level === 'client-authentication') {
    return new PefError(
      'pef/auth-failed',
      `${where} refused ${user}'s credentials (${cause}). Check config.ssh.user, private-key or password in the inventory, and the authorized_keys on the host.`,
      { ...details, user },
      { cause: error },
    );
  }
  if (/Cannot parse privateKey|private key|passphrase/i.test(cause)) {
    return new PefError(
      'pef/auth-failed',
      `The private key for ${where} cannot be used: ${cause}. Fix config.ssh.private-key (pef needs an unencrypted key or an agent).`,
      details,
      {
        cause: error,
      },
    );
  }
  const code = error.code === undefined ? '' : `${error.code}: `;
  const hint =
    error.code === 'ECONNREFUSED'
      ? 'nothing listens on that port: is sshd running, and is the port right?'
      : error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
        ? 'the host name does not resolve: check the target uri or config.ssh.host.'
        : 'check that the host is up and reachable from here.';
  return new PefError('pef/connect-failed', `Cannot connect to ${where} (${code}${cause}): ${hint}`, details, {
    cause: error,
  });
}
