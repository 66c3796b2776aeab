/**
 * The trust boundary between the servers: values one server (or the operator) hands pef that pef
 * then uses, as root, on the other. The primary must not trust the replica more than the replica
 * trusts the primary, so a certname, hostname or host key read from the other side is checked
 * against a strict pattern before it becomes a path, an rsync remote or a known_hosts line, and a
 * refusal (`pef/untrusted-value`) names the server, the field and the value (JSON-escaped).
 */
import { posix } from 'node:path';
import { PefError } from '../errors/pef-error.js';

/** Where a value came from: the server (or `the controller` for a parameter) and what it is. */
export interface ValueSource {
  server: string;
  field: string;
}

// Puppet's certname characters, lowercase only (Puppet downcases them), no path separators.
const CERTNAME = /^[a-z0-9_][a-z0-9._-]*$/;
// RFC 1123 labels; an IPv4 address matches too. Upper case is allowed (DNS is case-insensitive).
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*$/;
const MAX_NAME = 253;

/** A PefError saying `value` from `from` breaks `rule`. */
export function untrustedValue(from: ValueSource, value: string, rule: string): PefError {
  const shown = JSON.stringify(value.length > 300 ? `${value.slice(0, 300)}…` : value);
  return new PefError(
    'pef/untrusted-value',
    `Refusing ${from.field} ${shown} from ${from.server}: ${rule}. Nothing was written with it; check ${from.server}'s configuration.`,
    { server: from.server, field: from.field, value },
  );
}

/** `value` if it is a strict certname (lowercase letters, digits, `-`, `.`, `_`; no `..`, no leading `-`/`.`), else throws. */
export function checkCertname(value: string, from: ValueSource): string {
  if (value.length === 0 || value.length > MAX_NAME || !CERTNAME.test(value) || value.includes('..')) {
    throw untrustedValue(
      from,
      value,
      `a certname must be 1-${MAX_NAME} lowercase letters, digits, "-", "." or "_", not start with "-" or ".", and hold no ".."`,
    );
  }
  return value;
}

/** `value` if it is a hostname (RFC 1123 labels, or an IPv4 address), else throws. */
export function checkHostname(value: string, from: ValueSource): string {
  if (!HOSTNAME.test(value)) {
    throw untrustedValue(
      from,
      value,
      'a hostname must be dot-separated labels of letters, digits, "-" and "_" (at most 253 characters, no leading "-"), or an IPv4 address',
    );
  }
  return value;
}

/** `dir/name`, refusing a `name` that is not one plain path component (so the result stays in `dir`). */
export function pathWithin(dir: string, name: string, from: ValueSource): string {
  const joined = posix.join(dir, name);
  if (
    name === '' ||
    name === '.' ||
    name === '..' ||
    name.includes('/') ||
    name.includes('\0') ||
    posix.dirname(joined) !== posix.normalize(dir)
  ) {
    throw untrustedValue(from, name, `it must be a single file name inside ${dir}`);
  }
  return joined;
}

/** `type base64` of an ssh public key line (comment dropped), refusing anything else. */
export function checkPublicKey(line: string, from: ValueSource): { type: string; key: string } {
  const [type = '', key = ''] = line.trim().split(/\s+/);
  if (
    /[\r\n]/.test(line.trim()) ||
    !/^(ssh|ecdsa|sk)-[a-z0-9@.-]+$/.test(type) ||
    !/^[A-Za-z0-9+/]+={0,3}$/.test(key)
  ) {
    throw untrustedValue(from, line.trim(), 'an ssh public key must be one line "<type> <base64> [comment]"');
  }
  return { type, key };
}
