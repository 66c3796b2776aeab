/**
 * The ssh transport: one connection per target (node-ssh over ssh2, loaded on first use so
 * `pef --version` stays fast), with a persistent command channel inside; see
 * ssh/ssh-connection.ts and docs/transports.md.
 */
import type { Target } from '../inventory/target.js';
import { checkTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS, effectiveTimeoutMs } from './command-timeout.js';
import { openClient } from './ssh/open-client.js';
import { SshConnection, type CommandMode } from './ssh/ssh-connection.js';
import type { Transport } from './transport.js';

/** Options of SshTransport; every one has a default. */
export interface SshTransportOptions {
  /** 'persistent' (default): one long-lived shell per connection; 'exec': a channel per command. */
  commandMode?: CommandMode;
  /** The shell the persistent channel runs (default `sh`). */
  shell?: string;
  /** Persistent shells per connection, used side by side by concurrent run() calls (default 1, at most 4). */
  commandChannels?: number;
  /** Exec channels open at once per connection in exec mode (default 4, at most 8). */
  execChannels?: number;
  /** SSH keepalive interval (default 15000 ms); the link is declared lost after `keepaliveCountMax` (3) missed answers. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** How long the persistent shell, sudo included, may take to start (default: the target's connect-timeout, at least 10 s). */
  startTimeoutMs?: number;
  /** The limit of a command that names none (default 10 minutes; 0 or Infinity: none); see command-timeout.ts. */
  commandTimeoutMs?: number;
}

// sshd's MaxSessions is 10 by default; persistent shells + exec channels + SFTP stay below it.
const MAX_COMMAND_CHANNELS = 4;
const MAX_EXEC_CHANNELS = 8;

/** Opens SshConnections; see the file comment. */
export class SshTransport implements Transport {
  readonly name = 'ssh' as const;
  readonly #options: SshTransportOptions;

  constructor(options: SshTransportOptions = {}) {
    if (options.commandTimeoutMs !== undefined) checkTimeoutMs(options.commandTimeoutMs, 'commandTimeoutMs');
    this.#options = options;
  }

  async connect(target: Target): Promise<SshConnection> {
    const o = this.#options;
    const ssh = await openClient(target, {
      keepaliveIntervalMs: o.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: o.keepaliveCountMax ?? 3,
    });
    return new SshConnection(target, ssh, {
      commandMode: o.commandMode ?? 'persistent',
      shell: o.shell ?? 'sh',
      commandChannels: clamp(o.commandChannels ?? 1, MAX_COMMAND_CHANNELS),
      execChannels: clamp(o.execChannels ?? 4, MAX_EXEC_CHANNELS),
      startTimeoutMs: o.startTimeoutMs ?? Math.max(target.config.ssh.connectTimeout * 1000, 10_000),
      commandTimeoutMs: effectiveTimeoutMs(undefined, o.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS),
    });
  }
}

function clamp(value: number, max: number): number {
  return Math.min(Math.max(Math.floor(value), 1), max);
}
