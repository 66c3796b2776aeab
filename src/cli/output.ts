/**
 * Output conventions shared by all commands: JSON or human, exit codes from errors and results.
 */
import { PefError } from '../errors/pef-error.js';

/** True when the argv asks for JSON output (`--format json` or `--format=json`). */
export function wantsJson(args: readonly string[]): boolean {
  const i = args.indexOf('--format');
  return args.includes('--format=json') || (i >= 0 && args[i + 1] === 'json');
}

/** The exit code for anything thrown: a PefError's own, else 1. */
export function exitCodeFor(error: unknown): 1 | 2 | 130 {
  return error instanceof PefError ? error.exitCode : 1;
}

/** Writes one JSON document to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes human text to stdout. */
export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
