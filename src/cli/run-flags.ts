/**
 * The flags shared by `task run` and `plan run`. Kept apart from session.ts so that defining the
 * commands loads nothing heavy.
 */
import type { Command } from 'commander';
import { DEFAULT_CONCURRENCY } from '../executor/executor.js';
import { formatOption, type Format } from './output.js';

/** Flags shared by the commands that run things. */
export interface RunFlags {
  inventory?: string;
  targets?: string;
  params?: string;
  noop?: boolean;
  format?: Format;
  concurrency?: string;
  verbose?: boolean;
  logFile?: string;
}

/** Adds the shared run flags to a command. */
export function withRunFlags(command: Command): Command {
  return command
    .option(
      '-i, --inventory <file>',
      'inventory file (Bolt inventory v2); default from the pef config, else inventory.yaml',
    )
    .option('-t, --targets <names>', 'targets: names, groups, aliases, globs or "all", comma-separated')
    .option('--params <json>', 'parameters as JSON, @file.json, or - for stdin')
    .option('--noop', 'show what would change, and every command that would run, without changing anything')
    .addOption(formatOption('human or json (json prints one JSON document on stdout and nothing else)'))
    .option('--concurrency <n>', `targets worked on at once (default ${DEFAULT_CONCURRENCY})`)
    .option('-v, --verbose', 'show command output as it arrives')
    .option('--log-file <file>', 'debug log of this run (default .pef/logs/pef-<time>-<pid>.log)');
}
