/**
 * Output conventions shared by all commands: one `--format` parser, JSON or human, exit codes
 * from errors and results. Command actions return their exit code; only main.ts sets it.
 */
import { Option } from 'commander';
import { PefError } from '../errors/pef-error.js';
import { redact } from '../util/sensitive.js';

/** The output formats every command accepts. */
export const FORMATS = ['human', 'json'] as const;

/** One of FORMATS. */
export type Format = (typeof FORMATS)[number];

/** Checks a `--format` value: an unknown one is a usage error naming the flag and the choices. */
export function parseFormat(value: string): Format {
  if ((FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new PefError('pef/usage-error', `--format must be one of ${FORMATS.join(', ')}, not "${value}".`, {
    format: value,
    accepted: [...FORMATS],
  });
}

/** The `--format` option every command declares, parsed by parseFormat. */
export function formatOption(description = `${FORMATS.join(' or ')}`): Option {
  return new Option('--format <format>', description).argParser((value: string) => parseFormat(value));
}

/** Where a command action hands its exit code to main.ts, the one place that sets it. */
export type ExitSink = (code: number) => void;

/** Adapts an action that returns its exit code to commander, which ignores return values. */
export function returning<A extends unknown[]>(
  sink: ExitSink,
  action: (...args: A) => Promise<number>,
): (...args: A) => Promise<void> {
  return async (...args: A) => sink(await action(...args));
}

/** True when the argv asks for JSON output (`--format json` or `--format=json`). */
export function wantsJson(args: readonly string[]): boolean {
  const i = args.indexOf('--format');
  return args.includes('--format=json') || (i >= 0 && args[i + 1] === 'json');
}

/** The exit code for anything thrown: a PefError's own, else 1. */
export function exitCodeFor(error: unknown): 1 | 2 | 130 {
  return error instanceof PefError ? error.exitCode : 1;
}

/** Failures of a plan step that are the operator's answer, not a host's: a refused or unconfirmed confirmation. */
const OPERATOR_KINDS: ReadonlySet<string> = new Set(['pef/non-interactive', 'pef/usage-error']);

/**
 * The exit code of a finished plan: 0 when it succeeded, 1 when a step stopped for want of the
 * operator's answer (no terminal and no --yes, or a confirmation not given), else 2.
 */
export function planExitCode(result: { status: string; error?: { details: Record<string, unknown> } }): 0 | 1 | 2 {
  if (result.status === 'success') return 0;
  const cause = result.error?.details['cause'] as { kind?: unknown } | undefined;
  return typeof cause?.kind === 'string' && OPERATOR_KINDS.has(cause.kind) ? 1 : 2;
}

/** Writes one JSON document to stdout, with every registered secret scrubbed as in human output. */
export function printJson(value: unknown): void {
  // Per string, not over the text: a secret with a quote or backslash is escaped in JSON text.
  const scrub = (_key: string, v: unknown): unknown => (typeof v === 'string' ? redact(v) : v);
  process.stdout.write(`${JSON.stringify(value, scrub, 2)}\n`);
}

/** Writes human text to stdout. */
export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
