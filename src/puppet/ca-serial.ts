/**
 * The CA serial file holds the next serial to issue, in hex, in whichever format the tool that
 * last wrote it uses (lab-feasibility.md §5): the Ruby CLI writes `002\n` (lowercase, newline),
 * the server writes `0004` (zero-padded to 4, no newline). Both read it as hex. Padding must keep
 * the format, so that either tool reads it back as before.
 */
import { PefError } from '../errors/pef-error.js';

/** A parsed serial file. */
export interface SerialFile {
  value: bigint;
  width: number;
  newline: boolean;
  upper: boolean;
}

/** Reads the text of a serial file. */
export function parseSerial(text: string, file: string): SerialFile {
  const newline = text.endsWith('\n');
  const digits = text.trim();
  if (!/^[0-9a-fA-F]+$/.test(digits)) {
    throw new PefError(
      'pef/task-failed',
      `${file} does not hold a hex serial (found ${JSON.stringify(text.slice(0, 40))}); it is left as it was.`,
      { file },
    );
  }
  return {
    value: BigInt(`0x${digits}`),
    width: digits.length,
    newline,
    upper: /[A-F]/.test(digits) || (!/[a-f]/.test(digits) && !newline),
  };
}

/** Writes `value` in the same format as `like`. */
export function formatSerial(value: bigint, like: SerialFile): string {
  const hex = value.toString(16);
  const cased = like.upper ? hex.toUpperCase() : hex;
  return `${cased.padStart(like.width, '0')}${like.newline ? '\n' : ''}`;
}

/** Reads a serial given as a number, `0x…` hex or plain hex digits. */
export function parseSerialParam(value: string | number, name: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new PefError('pef/param-error', `${name} must be a positive integer, not ${value}.`, { [name]: value });
    return BigInt(value);
  }
  const text = value.trim();
  if (/^0x[0-9a-f]+$/i.test(text)) return BigInt(text);
  if (/^[0-9a-f]+$/i.test(text)) return BigInt(`0x${text}`);
  throw new PefError('pef/param-error', `${name} must be hex like 0x186A0 (or a number), not "${value}".`, {
    [name]: value,
  });
}

/** Serials in a CA's inventory.txt (`0x0003 <not before> <not after> /CN=name` per line). */
export function inventorySerials(inventory: string): Set<bigint> {
  const serials = new Set<bigint>();
  for (const line of inventory.split('\n')) {
    const m = /^0x([0-9a-fA-F]+)\s/.exec(line);
    if (m?.[1]) serials.add(BigInt(`0x${m[1]}`));
  }
  return serials;
}

/**
 * The highest serial below `next` that the CA never issued. The primary only counts upwards, so
 * such a serial (one of those pad_serial skipped) is safe to use for a certificate signed by the
 * replica's copy of the CA: the primary can never issue it again.
 */
export function unusedSerialBelow(next: bigint, used: ReadonlySet<bigint>): bigint | undefined {
  for (let s = next - 1n; s >= 2n; s--) if (!used.has(s)) return s;
  return undefined;
}

/** One inventory.txt line: `0x<serial> <notBefore> <notAfter> /CN=<certname>`, times as `2026-01-02T03:04:05UTC`. */
export interface InventoryEntry {
  serial: bigint;
  notBefore: string;
  notAfter: string;
  certname: string;
}

/**
 * Parses one inventory line strictly (the fields pef writes, nothing else), or undefined. The
 * line is re-emitted with formatInventoryLine, never appended as it was read.
 */
export function parseInventoryLine(line: string): InventoryEntry | undefined {
  const time = '(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dUTC)';
  const m = new RegExp(`^0x([0-9a-fA-F]{1,40}) ${time} ${time} /CN=([a-z0-9_][a-z0-9._-]{0,252})$`).exec(line.trim());
  if (!m || m[4]?.includes('..')) return undefined;
  return { serial: BigInt(`0x${m[1] ?? ''}`), notBefore: m[2] ?? '', notAfter: m[3] ?? '', certname: m[4] ?? '' };
}

/** The inventory.txt line for an entry, as Puppet's CA writes it (`0x%04x`). */
export function formatInventoryLine(e: InventoryEntry): string {
  return `0x${e.serial.toString(16).padStart(4, '0')} ${e.notBefore} ${e.notAfter} /CN=${e.certname}`;
}
