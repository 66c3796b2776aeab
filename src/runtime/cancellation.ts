/**
 * Cancelling a run (Ctrl-C, SIGTERM). Two signals, because stopping is two moments:
 * `signal` aborts at once and means "start nothing new" (no task, no step, no command);
 * `commandSignal` aborts `graceMs` later and kills what is still running on a host (the
 * transport does that for commands given it as `CommandOptions.signal`). Between the two, the
 * running command may finish, and every task's cleanup runs through commands that ignore both
 * signals but carry their own bounded timeout (`CLEANUP_TIMEOUT_MS`).
 *
 * It also keeps, per host, what would need attention if pef were killed outright now (a
 * second Ctrl-C): tasks note it (`TaskContext.atRisk`) while they hold a host in a state that
 * is not its normal one (services stopped, a lock held).
 */
import { PefError } from '../errors/pef-error.js';

/** How long the command running at the first Ctrl-C may take before it is killed. */
export const CANCEL_GRACE_MS = 30_000;

/** The limit of each cleanup command (it ignores the cancellation, so it needs its own bound). */
export const CLEANUP_TIMEOUT_MS = 300_000;

/** The cancellation of one run; see the file comment. */
export class Cancellation {
  readonly #stop = new AbortController();
  readonly #kill = new AbortController();
  readonly #atRisk = new Map<string, string>();
  #reason = '';

  constructor(readonly graceMs: number = CANCEL_GRACE_MS) {}

  /** Aborted at the first cancel: nothing new starts. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Aborted `graceMs` after the first cancel: commands still running are killed. */
  get commandSignal(): AbortSignal {
    return this.#kill.signal;
  }

  /** True once `cancel` was called. */
  get cancelled(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Why the run was cancelled ("SIGINT", "SIGTERM", …), or '' while it was not. */
  get reason(): string {
    return this.#reason;
  }

  /** Cancels the run (a second call does nothing). */
  cancel(reason: string): void {
    if (this.cancelled) return;
    this.#reason = reason;
    const why = new PefError('pef/cancelled', `The run was interrupted (${reason}).`, { reason });
    this.#stop.abort(why);
    if (this.graceMs <= 0) this.#kill.abort(why);
    else setTimeout(() => this.#kill.abort(why), this.graceMs).unref();
  }

  /** Throws `pef/cancelled` naming `what` would have started, once the run is cancelled. */
  throwIfCancelled(what: string): void {
    if (this.cancelled) throw cancelledError(what);
  }

  /** Records (or, with undefined, clears) what `host` needs if pef stops without its cleanup. */
  atRisk(host: string, note: string | undefined): void {
    if (note === undefined) this.#atRisk.delete(host);
    else this.#atRisk.set(host, note);
  }

  /** What each host needs if pef stops now, `host: note` per line; empty when nothing is at risk. */
  attention(): string[] {
    return [...this.#atRisk].map(([host, note]) => `${host}: ${note}`);
  }
}

/** `pef/cancelled` for something that was not started (or was stopped) because the run was cancelled. */
export function cancelledError(what: string): PefError {
  return new PefError('pef/cancelled', `Cancelled: ${what} was not started (the run was interrupted).`, {
    what,
  });
}

/** True for the error a cancellation produces. */
export function isCancelled(error: unknown): boolean {
  return error instanceof PefError && error.kind === 'pef/cancelled';
}
