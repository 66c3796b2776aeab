/**
 * The time limit a command runs under. Every command has one unless it opts out: its own
 * `timeoutMs`, else the connection's default (config `commandTimeoutMs`, else 10 minutes);
 * 0 or Infinity means no limit, for the few steps that legitimately run for hours.
 */
import { PefError } from '../errors/pef-error.js';

/** The default limit of one command when neither the command nor the config names one. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10 * 60_000;

// setTimeout fires at once for anything above 2^31-1 ms (~24.8 days): treat that as no limit.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The limit in ms for one command, or undefined for none; see the file comment. */
export function effectiveTimeoutMs(requested: number | undefined, fallback: number | undefined): number | undefined {
  const limit = requested ?? fallback;
  if (limit === undefined) return undefined;
  checkTimeoutMs(limit, requested === undefined ? 'commandTimeoutMs' : 'timeoutMs');
  return limit === 0 || limit > MAX_TIMER_MS ? undefined : limit;
}

/** Throws `pef/validation-error` unless `value` is a usable limit (ms ≥ 0, or Infinity). */
export function checkTimeoutMs(value: number, name: string): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new PefError(
      'pef/validation-error',
      `${name} must be a number of milliseconds ≥ 0 (0 or Infinity for no limit), not ${String(value)}.`,
      { [name]: String(value) },
    );
  }
}
