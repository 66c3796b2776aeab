/**
 * The task authoring API. A task is a small idempotent unit that runs on one target at a time:
 * typed params (a zod object; `.describe()` documents each one, `sensitive()` marks secrets),
 * `supportsNoop`, and `run(ctx)` returning `{ changed, value }`. A second run on an unchanged
 * host must return `changed: false`. Commands that only read go through `ctx.read` and run in
 * noop mode too; commands that change the host go through `ctx.change` and, in noop mode, are
 * recorded (and shown) instead of run.
 *
 * Cancellation (Ctrl-C): once `signal` is aborted, `read`/`change` start nothing more (they throw
 * `pef/cancelled`), and a command still running is killed after a grace period. A task that
 * changes a host's state for a while (services stopped, a lock held) puts it back in `finally`
 * through `cleanup`, whose commands run even after cancellation, each with a bounded timeout.
 */
import type { z } from 'zod';
import type { Prompter } from '../interaction/prompter.js';
import type { Target } from '../inventory/target.js';
import type { CommandOptions, CommandOutput, Connection } from '../transport/transport.js';
import type { RunTimeCapture } from './run-time-value.js';

/** A zod object describing a task's or plan's parameters. */
export type ParamsSchema = z.ZodObject;

/** Options for a command run from a task. */
export interface TaskCommandOptions extends CommandOptions {
  /** Exit codes that count as success (default [0]). Others throw `pef/command-failed`. */
  okExitCodes?: readonly number[];
  /**
   * For a `change` whose input noop cannot know (e.g. stdin read from another host at run time):
   * what it is, in words. Noop records it with the command, so an export stops there instead of
   * replaying the command without its input.
   */
  runTimeInput?: string;
  /**
   * For a `change` whose output later commands of the run need (src/task/run-time-value.ts):
   * a runbook keeps what it prints in a variable, which those commands' placeholders name.
   */
  capture?: RunTimeCapture;
}

/** Commands on one host, noop-aware: the target's own, or a peer's (see `TaskContext.peer`). */
export interface HostCommands {
  readonly target: Target;
  /** Runs a command that only reads the host; it runs in noop mode too. */
  read(command: string, options?: TaskCommandOptions): Promise<CommandOutput>;
  /** Runs a command that changes the host; in noop mode it is recorded and returns undefined. */
  change(command: string, options?: TaskCommandOptions): Promise<CommandOutput | undefined>;
  /** Copies a controller file to the host; in noop mode it is recorded instead. */
  upload(localPath: string, remotePath: string, options?: { mode?: number }): Promise<void>;
}

/** Another host's commands (`TaskContext.peer`), with its own cleanup commands, as the task's host has. */
export interface PeerCommands extends HostCommands {
  /** The peer's commands for cleanup and rollback: they run even after cancellation (see `TaskContext.cleanup`). */
  readonly cleanup: HostCommands;
}

/** What a task's `run` sees. */
export interface TaskContext<P> extends HostCommands {
  readonly params: P;
  /** True when asked to report what would change without changing anything. */
  readonly noop: boolean;
  /** A progress line for the operator (and the run log). */
  log(text: string): void;
  /**
   * Asks the operator (the run's prompter): on a terminal it prompts; without one it refuses
   * with `pef/non-interactive`, naming the parameter that answers instead. For the few questions
   * a task must not answer itself (a forced promotion's confirmation).
   */
  readonly prompter: Prompter;
  /**
   * Commands on another inventory target, over that target's pooled connection: for the tasks
   * that move data between two hosts (sync_ca runs on the primary and writes to the replica).
   * Its changes are recorded under that target's name in noop mode.
   */
  peer(name: string): Promise<PeerCommands>;
  /** The live connection, for what `read`/`change` do not cover. Prefer those two. */
  readonly connection: Connection;
  /** Aborted when the run is cancelled (Ctrl-C, SIGTERM): start nothing new, clean up. */
  readonly signal: AbortSignal;
  /**
   * This host's commands for cleanup and rollback: they run even after cancellation (so
   * services can be started again and locks released), each bounded by its own timeout
   * (`CLEANUP_TIMEOUT_MS` unless `timeoutMs` is given). Noop-aware like `read`/`change`.
   */
  readonly cleanup: HostCommands;
  /**
   * What this host needs if pef is stopped outright now, without its cleanup (a second Ctrl-C
   * prints it), e.g. "puppetdb stopped: start it with …"; undefined once the host is back.
   */
  atRisk(note: string | undefined): void;
}

/** What a task reports for one target. */
export interface TaskOutcome {
  /** Whether the host was changed (in noop: would be changed). */
  changed: boolean;
  /** Data for scripts and for later plan steps; JSON-serialisable, no secrets. */
  value?: Record<string, unknown>;
}

/** A task; see the file comment. */
export interface TaskDefinition<S extends ParamsSchema = ParamsSchema> {
  /** snake_case, unique; what `pef task run NAME` takes. */
  readonly name: string;
  /** One line for `pef task list`; `details` for `pef task show`. */
  readonly description: string;
  readonly details?: string;
  readonly params: S;
  readonly supportsNoop: boolean;
  run(ctx: TaskContext<z.output<S>>): Promise<TaskOutcome>;
}

/** Identity helper that gives `run` typed params. */
export function defineTask<S extends ParamsSchema>(definition: TaskDefinition<S>): TaskDefinition<S> {
  return definition;
}
