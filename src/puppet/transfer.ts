/**
 * The transfer channel between a sending host (the primary) and a receiving host (the replica),
 * set up by `setup_transfer` and used by every sync: a dedicated user on the receiver whose one
 * key may only write into a staging directory (rrsync -wo, `restrict`: no pty, no forwarding),
 * and on the sender a private key and a known_hosts file holding the receiver's pinned host key.
 *
 * The key's forced command is a small root-owned gate (`transferGateScript`) that answers exactly
 * one other request, `pef-peer-state`: the receiver's mode, epoch and kill-switch, read-only, so
 * the sender's jobs can compare epochs before they send (src/replication/fence-check.ts).
 * Everything else goes to rrsync -wo, as before.
 */
import { z } from 'zod';
import { shQuote } from '../util/shell-quote.js';
import { replicationStateCommand } from './mode.js';
import { checkHostname, checkPublicKey } from './names.js';

/** Where the transfer channel lives; the defaults are what setup_transfer creates. */
export interface TransferSettings {
  user: string;
  /** Receiver: the transfer user's home; `incoming/` in it is the only writable place. */
  home: string;
  /** Sender: directory with the private key and the pinned known_hosts. */
  senderDir: string;
  /** How the sender reaches the receiver. */
  host: string;
  port: number;
}

/** The default transfer user and paths. */
export const TRANSFER_DEFAULTS = {
  user: 'pef-transfer',
  home: '/var/lib/pef-transfer',
  senderDir: '/etc/pef/transfer',
  port: 22,
} as const;

/** Parameters shared by the tasks that use the transfer channel (setup_transfer, sync_ca, dump_db, dump_nc). */
export const transferParams = {
  receiver: z.string().min(1).describe('inventory name of the receiving host (the replica)'),
  receiver_host: z
    .string()
    .min(1)
    .optional()
    .describe("how the sender reaches the receiver (default: the receiver's hostname -f)"),
  receiver_port: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(TRANSFER_DEFAULTS.port)
    .describe('ssh port of the receiver'),
  transfer_user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]*$/)
    .default(TRANSFER_DEFAULTS.user)
    .describe('the transfer user on the receiver'),
};

/** The command the receiver answers with its own name, the default `receiver_host`. */
export const RECEIVER_HOSTNAME_COMMAND = 'hostname -f 2>/dev/null || hostname';

/**
 * Builds TransferSettings from the shared parameters and the receiver. The host becomes the rsync
 * remote and the known_hosts name on the sender, so it is checked as a hostname whether the
 * operator gave it (`receiver_host`) or the receiver said it (`hostname -f`).
 */
export async function transferSettings(
  params: { receiver_host?: string | undefined; receiver_port: number; transfer_user: string },
  receiver: { target: { name: string }; read(c: string): Promise<{ stdout: string }> },
): Promise<TransferSettings> {
  const host =
    params.receiver_host === undefined
      ? checkHostname((await receiver.read(RECEIVER_HOSTNAME_COMMAND)).stdout.trim(), {
          server: receiver.target.name,
          field: 'hostname -f',
        })
      : checkHostname(params.receiver_host, { server: 'the controller', field: 'parameter receiver_host' });
  return {
    user: params.transfer_user,
    home: TRANSFER_DEFAULTS.home,
    senderDir: TRANSFER_DEFAULTS.senderDir,
    host,
    port: params.receiver_port,
  };
}

/** Paths derived from the settings. */
export function transferPaths(s: TransferSettings) {
  return {
    key: `${s.senderDir}/id_ed25519`,
    knownHosts: `${s.senderDir}/known_hosts`,
    incoming: `${s.home}/incoming`,
    authorizedKeys: `${s.home}/.ssh/authorized_keys`,
  };
}

/** Whether the sender already has the transfer key (setup_transfer creates it). */
export async function hasTransferKey(
  sender: { read(command: string): Promise<{ stdout: string }> },
  s: TransferSettings,
): Promise<boolean> {
  return (await sender.read(`test -f ${shQuote(transferPaths(s).key)} && echo yes || echo no`)).stdout.trim() === 'yes';
}

/** How long a transfer connection waits on a receiver that stopped answering (ssh keepalives, every 5 s). */
export const TRANSFER_SILENCE_S = 15;
const SERVER_ALIVE_INTERVAL_S = 5;

/**
 * The `ssh` command rsync uses on the sender: the pinned key and host key, never a prompt.
 * `compress`: ssh's own compression, which also covers rsync's file list (rsync -z leaves it
 * uncompressed); on a 10 000-certificate CA the list is about 200 KiB, most of a one-certificate pass.
 * A link that goes silent mid-transfer (a partition drops packets, nothing resets the connection)
 * ends the connection after TRANSFER_SILENCE_S: without it the pass would wait on TCP (minutes
 * to hours) holding its job's lock, and every later pass would leave quietly in the meantime.
 */
export function transferSsh(s: TransferSettings, options: TransferSshOptions = {}): string {
  const p = transferPaths(s);
  return [
    'ssh',
    `-i ${shQuote(p.key)}`,
    `-p ${s.port}`,
    `-o UserKnownHostsFile=${shQuote(p.knownHosts)}`,
    '-o StrictHostKeyChecking=yes',
    '-o BatchMode=yes',
    '-o IdentitiesOnly=yes',
    '-o ConnectTimeout=10',
    `-o ServerAliveInterval=${SERVER_ALIVE_INTERVAL_S}`,
    `-o ServerAliveCountMax=${TRANSFER_SILENCE_S / SERVER_ALIVE_INTERVAL_S}`,
    ...(options.compress ? ['-o Compression=yes'] : []),
    ...(options.controlPath === undefined ? [] : [`-o ControlPath=${options.controlPath}`, '-o ControlMaster=no']),
  ].join(' ');
}

/**
 * Starts a connection to the receiver that later transfer ssh commands with the same
 * `controlPath` share (one handshake for a pass's rsyncs). It opens no session, so the
 * receiver's forced command never runs for it; it holds none of the caller's files open
 * (stdio to /dev/null, the job's lock fd 9 closed), ends 60 s after its last use and is meant to
 * be ended with `transferMasterStop` at once. If it cannot start, the transfer commands connect
 * on their own (ControlMaster=no falls back when the socket is missing).
 */
export function transferMasterStart(
  s: TransferSettings,
  controlPath: string,
  options: { compress?: boolean } = {},
): string {
  return [
    transferSsh(s, options).replace(/^ssh /, 'ssh -M -N -f '),
    `-o ControlPath=${controlPath}`,
    '-o ControlPersist=60',
    shQuote(`${s.user}@${s.host}`),
    '</dev/null >/dev/null 2>&1 9>&- || true',
  ].join(' ');
}

/** Ends the shared connection `transferMasterStart` started (nothing if there is none). */
export function transferMasterStop(s: TransferSettings, controlPath: string): string {
  return `ssh -o ControlPath=${controlPath} -O exit ${shQuote(`${s.user}@${s.host}`)} >/dev/null 2>&1 || true`;
}

/** Options of `transferSsh` (and `rsyncToReceiver`). */
export interface TransferSshOptions {
  compress?: boolean;
  /**
   * Share the connection `transferMasterStart` opened on this ControlPath (an ssh ControlPath
   * value: ssh itself expands `${VAR}`, which is how a job names its private temp dir).
   */
  controlPath?: string;
}

/**
 * rsync from a sender directory into `incoming/<name>/` on the receiver (content and modes; a
 * non-root receiver cannot keep owners, so the receiving task sets them). `sourceDir` is a path,
 * or with `{ shellSource: true }` a shell expression such as "$d". `exclude`: paths relative to
 * the source (`/ca_key.pem`), neither sent nor deleted on the receiver; `stats`: rsync prints its
 * transfer statistics (`Total bytes sent: N`, counted before ssh compresses it); `compress`: see
 * `transferSsh` (for the CA: PEM text and a long file list; dumps are compressed already).
 */
export function rsyncToReceiver(
  s: TransferSettings,
  sourceDir: string,
  name: string,
  options: { shellSource?: boolean; exclude?: readonly string[]; stats?: boolean } & TransferSshOptions = {},
): string {
  const source = options.shellSource ? `${sourceDir}/` : shQuote(sourceDir.endsWith('/') ? sourceDir : `${sourceDir}/`);
  const extra = [
    ...(options.exclude ?? []).map((p) => `--exclude=${shQuote(p)}`),
    ...(options.stats ? ['--stats'] : []),
  ];
  return [
    'rsync -rlpt --delete',
    ...extra,
    `-e ${shQuote(transferSsh(s, options))}`,
    source,
    shQuote(`${s.user}@${s.host}:${name}/`),
  ].join(' ');
}

/** Where setup_transfer installs the gate (root 0755) on the receiver. */
export const TRANSFER_GATE = '/usr/local/sbin/pef-transfer-gate';

/** The one request the gate answers besides rsync. */
export const PEER_STATE_REQUEST = 'pef-peer-state';

/**
 * The gate's script: `pef-peer-state` prints replicationStateCommand's output (the receiver's
 * mode, epoch and kill-switch: world-readable files, nothing secret); any other request is handed
 * to `rrsync -wo incoming/`, which refuses everything but a write into incoming/.
 */
export function transferGateScript(rrsync: string, incoming: string): string {
  return [
    '#!/bin/sh',
    '# pef transfer gate: the forced command of the transfer key (written by setup_transfer; do not edit).',
    `if [ "\${SSH_ORIGINAL_COMMAND:-}" = ${PEER_STATE_REQUEST} ]; then`,
    `  ${replicationStateCommand()}`,
    '  exit 0',
    'fi',
    `exec ${shQuote(rrsync)} -wo ${shQuote(incoming)}`,
    '',
  ].join('\n');
}

/** The authorized_keys line on the receiver: the gate as forced command (write-only rsync into incoming/, and the peer state). */
export function authorizedKeyLine(gate: string, publicKey: string): string {
  return `restrict,command="${gate}" ${publicKey.trim()}`;
}

/**
 * The sender's command asking the receiver's gate for its state; prints replicationStateCommand's
 * output (parse with parseReplicationState, or in a job's shell, fence-check.ts). Bounded: a
 * receiver that hangs is an unknown state, not a stuck job.
 */
export function peerStateCommand(s: TransferSettings): string {
  return `timeout 30 ${transferSsh(s)} ${shQuote(`${s.user}@${s.host}`)} ${PEER_STATE_REQUEST}`;
}

/**
 * The known_hosts line pinning the receiver's host key as the sender will name it; `receiver`
 * names the host the key was read from, for the refusal of anything but a public key.
 */
export function knownHostsLine(host: string, port: number, hostPublicKey: string, receiver = 'the receiver'): string {
  const { type, key } = checkPublicKey(hostPublicKey, { server: receiver, field: 'ssh host key' });
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${type} ${key}`;
}
