/**
 * Values only a real run has, in a dry run's commands. A task whose later commands depend on what
 * an earlier change prints (restore_db marks a database with the checksum of a dump that a dry
 * run never wrote) previews them with a placeholder, `runTimeValue(name)`, and marks the change
 * that prints the value with `capture` (TaskCommandOptions). `pef plan run --noop` shows the
 * placeholder as it is; `pef plan export` keeps the printed value in a shell variable of the
 * runbook and puts that variable where the placeholder is (src/plan/runbook-script.ts). A real
 * run never sends a placeholder (run-task refuses one): there the task has the value itself.
 */
import { PefError } from '../errors/pef-error.js';

/** What a change prints that later commands of the same run need; see the file comment. */
export interface RunTimeCapture {
  /** Names the value: lower-case words and `_`, unique within a runbook for what it means. */
  name: string;
  /**
   * What the printed value (its stdout, trimmed) must look like, as a regular expression's
   * source matched against the whole value. Only letters, digits and `._:+-` may match: the
   * value is put into command text as it is.
   */
  pattern: string;
  /** The value in words, for the runbook's comments and its error when the value is wrong. */
  what: string;
}

/** The characters a captured value may hold: safe in any position of a shell command. */
export const SAFE_VALUE = /^[A-Za-z0-9._:+-]+$/;

const NAME = /^[a-z][a-z0-9_]*$/;

/** The placeholder for the value `name` captures; see the file comment. */
export function runTimeValue(name: string): string {
  if (!NAME.test(name)) throw new PefError('pef/internal', `not a run-time value name: ${JSON.stringify(name)}`, {});
  return `@@pef:${name}@@`;
}

/** Every placeholder in a text (global: use with matchAll or replace). */
export const RUN_TIME_VALUES = /@@pef:([a-z][a-z0-9_]*)@@/g;

/** True when `text` holds a placeholder. */
export function hasRunTimeValue(text: string): boolean {
  return /@@pef:[a-z][a-z0-9_]*@@/.test(text);
}

/** A capture's name made safe for a placeholder: `pe-rbac` and `dump_sha256` give `pe_rbac_dump_sha256`. */
export function captureName(...words: string[]): string {
  return words
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+/, '');
}
