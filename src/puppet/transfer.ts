/**
 * The transfer channel between a sending host (the primary) and a receiving host (the replica),
 * set up by `setup_transfer` and used by every sync: a dedicated user on the receiver whose one
 * key may only write into a staging directory (rrsync -wo, `restrict`: no pty, no forwarding),
 * and on the sender a private key and a known_hosts file holding the receiver's pinned host key.
 */
import { shQuote } from '../util/shell-quote.js';

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

/** The `ssh` command rsync uses on the sender: the pinned key and host key, never a prompt. */
export function transferSsh(s: TransferSettings): string {
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
  ].join(' ');
}

/**
 * rsync from a sender directory into `incoming/<name>/` on the receiver (content and modes; a
 * non-root receiver cannot keep owners, so the receiving task sets them). `sourceDir` is a path,
 * or with `{ shellSource: true }` a shell expression such as "$d".
 */
export function rsyncToReceiver(
  s: TransferSettings,
  sourceDir: string,
  name: string,
  options: { shellSource?: boolean } = {},
): string {
  const source = options.shellSource ? `${sourceDir}/` : shQuote(sourceDir.endsWith('/') ? sourceDir : `${sourceDir}/`);
  return `rsync -rlpt --delete -e ${shQuote(transferSsh(s))} ${source} ${shQuote(`${s.user}@${s.host}:${name}/`)}`;
}

/** The authorized_keys line on the receiver: write-only rsync into incoming/, nothing else. */
export function authorizedKeyLine(rrsync: string, incoming: string, publicKey: string): string {
  return `restrict,command="${rrsync} -wo ${incoming}" ${publicKey.trim()}`;
}

/** The known_hosts line pinning the receiver's host key as the sender will name it. */
export function knownHostsLine(host: string, port: number, hostPublicKey: string): string {
  const [type, key] = hostPublicKey.trim().split(/\s+/);
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${type ?? ''} ${key ?? ''}`;
}
