/**
 * The debug log of one run: every command sent to a target, its exit code and duration, each
 * step and result, with secrets scrubbed (`redact`). It is a plain text file, one event a line,
 * greppable by target and by the `pef:` status words. Default path: `.pef/logs/` in the current
 * directory (see docs/cli.md); `--log-file` overrides it.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { redact } from '../util/sensitive.js';

/** Where a run's log goes unless `--log-file` says otherwise. */
export function defaultLogFile(logDir: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return join(logDir, `pef-${stamp}-${process.pid}.log`);
}

/** The log directory when neither the flag nor the config names one. */
export const DEFAULT_LOG_DIR = join('.pef', 'logs');

/** Appends redacted lines to one file; writing is synchronous so a crash still leaves the log. */
export class RunLog {
  #ready = false;

  constructor(readonly file: string) {}

  write(level: 'debug' | 'info' | 'warn' | 'error', text: string, target?: string): void {
    if (!this.#ready) {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      this.#ready = true;
    }
    const who = target === undefined ? '-' : target;
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${who}] ${redact(text).replace(/\n/g, '\n    ')}\n`;
    appendFileSync(this.file, line, { mode: 0o600 });
  }
}

/** A log that writes nowhere, for tests and `--log-file -`-less library use. */
export class NullLog extends RunLog {
  constructor() {
    super('/dev/null');
  }
  override write(): void {}
}
