/**
 * OpenSSH known_hosts files: parsing, host matching (plain names, `[host]:port`, wildcards,
 * negation and hashed `|1|salt|hash` entries) and the verdict for a key a server presented.
 * The rules follow OpenSSH's `hostfile.c`: a host is known when an entry for its name has the
 * same key; it has *changed* when an entry of the same key type holds another key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  file: string;
  /** 1-based line number, for messages that point at the line to fix. */
  line: number;
  marker?: 'cert-authority' | 'revoked';
  /** The host field as written (comma-separated patterns, or one hashed name). */
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** What known_hosts says about a presented key. */
export type HostKeyVerdict =
  | { status: 'match'; entry: KnownHostEntry }
  | { status: 'mismatch'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'unknown'; otherKeyTypes: string[] };

/** Parses known_hosts text; comments, blank and malformed lines are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fields = (lines[i] ?? '').trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@cert-authority' || fields[0] === '@revoked') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    }
    const [hosts, keyType, keyText] = fields;
    if (hosts === undefined || keyType === undefined || keyText === undefined || !/^[A-Za-z0-9+/]+=*$/.test(keyText))
      continue;
    const key = Buffer.from(keyText, 'base64');
    // A line whose key blob names another type is corrupt; OpenSSH ignores it too.
    if (keyTypeOf(key) !== keyType) continue;
    entries.push({ file, line: i + 1, ...(marker === undefined ? {} : { marker }), hosts, keyType, key });
  }
  return entries;
}

/** Reads and parses known_hosts files; a missing file simply knows no hosts. */
export async function loadKnownHosts(files: readonly string[]): Promise<KnownHostEntry[]> {
  const all: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    all.push(...parseKnownHosts(text, file));
  }
  return all;
}

/** The name known_hosts uses for a host: bare on port 22, else `[host]:port`. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Whether an entry's host field matches a name from `knownHostName`. */
export function entryMatches(entry: Pick<KnownHostEntry, 'hosts'>, name: string): boolean {
  if (entry.hosts.startsWith('|1|')) return hashedMatches(entry.hosts, name);
  let matched = false;
  for (const pattern of entry.hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcardMatches(pattern.slice(1), name)) return false;
    } else if (wildcardMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The key type named inside an SSH public key blob (`string type, …`). */
export function keyTypeOf(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** Checks the key `host:port` presented against the entries; see the file comment. */
export function verifyHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
): HostKeyVerdict {
  const name = knownHostName(host, port);
  const type = keyTypeOf(key);
  const mine = entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, name));
  const revoked = mine.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = mine.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.key.equals(key));
  if (same) return { status: 'match', entry: same };
  const changed = plain.find((e) => e.keyType === type);
  if (changed) return { status: 'mismatch', entry: changed };
  return { status: 'unknown', otherKeyTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** Host key algorithms to offer first for `host:port`, so the server presents a key type we know. */
export function preferredHostKeyAlgorithms(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostName(host, port);
  const algorithms: string[] = [];
  for (const e of entries) {
    if (e.marker !== undefined || !entryMatches(e, name)) continue;
    for (const algorithm of ALGORITHMS_FOR_KEY_TYPE[e.keyType] ?? [])
      if (!algorithms.includes(algorithm)) algorithms.push(algorithm);
  }
  return algorithms;
}

// An RSA key can sign with three algorithms; ssh2 negotiates the algorithm, not the key type.
const ALGORITHMS_FOR_KEY_TYPE: Readonly<Record<string, readonly string[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

function hashedMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

// OpenSSH's match_pattern: `*` and `?` wildcards, case-insensitive host names.
function wildcardMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern.toLowerCase() === name.toLowerCase();
  const source = pattern
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(name.toLowerCase());
}
