/**
 * Errors both transports raise about a command, worded the same way. Command text is
 * shortened and passed through `redact`, so a message never carries a secret.
 */
import { PefError } from '../errors/pef-error.js';
import type { Target } from '../inventory/target.js';
import { redact } from '../util/sensitive.js';

/** `name (host:port)` for ssh targets, the name for local ones: how messages name a target. */
export function describeTarget(target: Target): string {
  if (target.config.transport === 'local') return target.name;
  const { host, port } = target.config.ssh;
  return target.name === host ? `${host}:${port}` : `${target.name} (${host}:${port})`;
}

/** A command, one line and at most 120 characters, secrets scrubbed. */
export function shortCommand(command: string): string {
  const oneLine = redact(command).replace(/\s+/g, ' ').trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 117)}...` : oneLine;
}

/** `pef/timeout` for a command that ran past `timeoutMs` and was stopped. */
export function commandTimeoutError(target: Target, command: string, limitMs: number): PefError {
  return new PefError(
    'pef/timeout',
    `Command \`${shortCommand(command)}\` on ${describeTarget(target)} did not finish within ${limitMs} ms and was stopped.`,
    {
      target: target.name,
      timeoutMs: limitMs,
    },
  );
}

/** `pef/connection-lost` for a link that went away; `cause` says how, when known. */
export function connectionLostError(target: Target, cause?: string): PefError {
  return new PefError(
    'pef/connection-lost',
    `The connection to ${describeTarget(target)} was lost${cause === undefined || cause === '' ? '' : ` (${redact(cause)})`}. Commands that were running may or may not have finished there.`,
    {
      target: target.name,
      ...(target.config.transport === 'ssh' ? { host: target.config.ssh.host, port: target.config.ssh.port } : {}),
    },
  );
}

/** `pef/connection-lost` for a connection pef itself closed (a bug in the caller if it was still used). */
export function connectionClosedError(target: Target): PefError {
  return new PefError(
    'pef/connection-lost',
    `The connection to ${describeTarget(target)} was already closed by pef; nothing more can run on it.`,
    { target: target.name },
  );
}

/** `pef/cancelled` for a command stopped (or never started) because its AbortSignal fired. */
export function commandCancelledError(target: Target, command: string, started: boolean): PefError {
  return new PefError(
    'pef/cancelled',
    started
      ? `Command \`${shortCommand(command)}\` on ${describeTarget(target)} was cancelled and stopped.`
      : `Command \`${shortCommand(command)}\` on ${describeTarget(target)} was cancelled before it started.`,
    { target: target.name, started },
  );
}
