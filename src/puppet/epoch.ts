/**
 * The promotion epoch of a Puppet server: a generation number in `/etc/pef/epoch`, raised by
 * every promotion to one more than the higher of the two servers' epochs, so the server promoted
 * last always holds the highest one. A server that comes back and finds its peer active with a
 * higher epoch knows it lost a failover while it was away, and fences itself (src/puppet/fence.ts).
 *
 * No file is epoch 0 (a server set up before epochs existed, or never given a mode). A file that
 * is not a plain number in range is neither 0 nor anything else: it is 'invalid', and every
 * reader fails closed on it (promote refuses, a job does not send, status is unhealthy).
 */
import { PefError } from '../errors/pef-error.js';
import { writeFileCommand } from '../host/files.js';
import { parseKeyValues } from '../util/key-value.js';
import { shQuote } from '../util/shell-quote.js';

/** The epoch file (pef's state dir is /etc/pef, see mode.ts). */
export const EPOCH_FILE = '/etc/pef/epoch';

/** The highest epoch pef writes or accepts: far beyond any real count, and safe in sh arithmetic. */
export const MAX_EPOCH = 999_999_999;

/** What a server's epoch file said: a number, none (no file: 0), or 'invalid' (fail closed). */
export type EpochReading = number | null | 'invalid';

/** What the epoch file holds. */
export interface EpochRecord {
  epoch: number;
  changedAt: string;
  by: string;
}

/** The epoch file's text. */
export function renderEpochFile(record: EpochRecord): string {
  return [
    '# pef promotion epoch of this Puppet server, raised by every promotion. Do not edit by hand.',
    `epoch=${checkEpochValue(record.epoch, 'renderEpochFile')}`,
    `changed_at=${record.changedAt}`,
    `by=${record.by.replace(/[\r\n]+/g, ' ').trim()}`,
    '',
  ].join('\n');
}

/** Parses the epoch file's text: null when empty (no file), 'invalid' when it holds no valid epoch. */
export function parseEpochFile(text: string): EpochReading {
  if (text.trim() === '') return null;
  return parseEpochValue(parseKeyValues(text).get('epoch'));
}

/**
 * Reads one epoch value as another server (or a file) says it: only 0…MAX_EPOCH written as plain
 * decimal digits, without a sign, blanks or leading zeros, is a number; anything else is 'invalid'.
 */
export function parseEpochValue(value: string | undefined): number | 'invalid' {
  if (value === undefined || !/^(0|[1-9][0-9]{0,8})$/.test(value)) return 'invalid';
  const n = Number(value);
  return n <= MAX_EPOCH ? n : 'invalid';
}

/** The epoch a promotion writes: one more than the higher of this server's and its peer's. */
export function nextEpoch(own: number | null, peer: number | null): number {
  const next = Math.max(own ?? 0, peer ?? 0) + 1;
  return checkEpochValue(next, 'nextEpoch');
}

/** The epoch a server given its first mode starts at: its peer's, or 1 when the peer has none. */
export function initialEpoch(peer: number | null): number {
  return peer === null || peer < 1 ? 1 : peer;
}

/** The command writing the epoch file (content on stdin, from renderEpochFile), never following a link. */
export function writeEpochCommand(): string {
  return `mkdir -p ${shQuote('/etc/pef')} && ${writeFileCommand(EPOCH_FILE, { mode: '644' })}`;
}

/**
 * Throws `pef/untrusted-value` unless `epoch` is a usable epoch (what a task is about to act on):
 * 'invalid' names the server and how to repair the file.
 */
export function usableEpoch(epoch: EpochReading, server: string): number | null {
  if (epoch !== 'invalid') return epoch;
  throw new PefError(
    'pef/untrusted-value',
    `${server}: ${EPOCH_FILE} holds no valid epoch (a number 0…${MAX_EPOCH}). pef does not guess a generation: ` +
      `find out which server was promoted last, then write the right number there (epoch=N) and run again. Nothing was changed.`,
    { server, file: EPOCH_FILE },
  );
}

function checkEpochValue(n: number, where: string): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_EPOCH)
    throw new PefError('pef/internal', `${where}: not an epoch: ${n}`, { epoch: n });
  return n;
}
