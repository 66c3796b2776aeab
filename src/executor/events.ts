/**
 * Events the executor and the plan runner emit. Renderers and the run log subscribe; nothing
 * that subscribes can change what runs.
 */
import type { Stream } from '../transport/transport.js';
import type { Action, Result } from './result.js';
import type { RunTimeCapture } from '../task/run-time-value.js';

/** Everything a renderer may want to show. */
export type RunEvent =
  | { type: 'action-start'; action: Action; object: string; targets: string[] }
  | { type: 'action-finish'; action: Action; object: string; ok: boolean; elapsedMs: number }
  | { type: 'target-start'; action: Action; object: string; target: string }
  | { type: 'target-finish'; result: Result<unknown> }
  | { type: 'output'; target: string; stream: Stream; chunk: string }
  | { type: 'message'; target?: string; text: string }
  | NoopCommandEvent
  | { type: 'step-start'; plan: string; step: string; index: number; total: number }
  | { type: 'step-skip'; plan: string; step: string; reason: string }
  | { type: 'step-finish'; plan: string; step: string; ok: boolean; elapsedMs: number };

/**
 * A command a noop run records instead of running: on `target` (the controller, for a hook, with
 * `local`), with the stdin and env it would be given, so an export can replay it faithfully.
 * `preview: 'unsupported'` marks a task that cannot preview its commands: `command` only says so.
 * `stdin` may hold a secret (it is never printed: renderers show `command` only).
 */
export interface NoopCommandEvent {
  type: 'noop-command';
  target: string;
  command: string;
  stdin?: string;
  env?: Readonly<Record<string, string>>;
  /** Exit codes that count as success, when not only 0. */
  okExitCodes?: readonly number[];
  /** Runs on the controller (a hook), not over ssh. */
  local?: boolean;
  /** Where a local command starts (default: the home directory). */
  cwd?: string;
  /** What the command will be given that noop cannot know (input read at run time): an export cannot replay it. */
  runTimeInput?: string;
  /** What the command prints that later commands need (their `runTimeValue` placeholders). */
  capture?: RunTimeCapture;
  preview?: 'unsupported';
}

/** A subscriber. */
export type RunEventListener = (event: RunEvent) => void;

/** A tiny synchronous event bus; listener errors are swallowed so rendering never breaks a run. */
export class EventBus {
  readonly #listeners: RunEventListener[] = [];

  subscribe(listener: RunEventListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  emit(event: RunEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken renderer must not fail the operation it is drawing.
      }
    }
  }
}
