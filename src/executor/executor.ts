/**
 * The executor runs one action over many targets with bounded concurrency.
 * Contract: every target gets exactly one Result, whatever the action throws; a target's
 * failure is a Result with status 'failure', never an exception out of `run`. Once the run is
 * cancelled, no target starts: the ones not yet started get a `pef/cancelled` failure (unless
 * the action is a cleanup, which runs after a cancellation by design).
 */
import type { Target } from '../inventory/target.js';
import { Cancellation, cancelledError } from '../runtime/cancellation.js';
import type { EventBus } from './events.js';
import { failureResult, ResultSet, successResult, type Action, type NoopReport, type Result } from './result.js';

/** Bolt's default: 100 targets at a time. */
export const DEFAULT_CONCURRENCY = 100;

/** What an action returns for one target when it succeeds. */
export interface ActionOutcome<V> {
  value: V;
  changed?: boolean;
  /** A failure that is not an exception (e.g. a task that reported an error). */
  failed?: unknown;
  /** On a noop run, what would have run; carried beside the value, never inside it. */
  noop?: NoopReport;
}

/** Runs one action per target; see the file comment. */
export class Executor {
  constructor(
    readonly events: EventBus,
    readonly concurrency: number = DEFAULT_CONCURRENCY,
    readonly cancellation: Cancellation = new Cancellation(),
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }

  async run<V extends Record<string, unknown>>(
    action: Action,
    object: string,
    targets: readonly Target[],
    perTarget: (target: Target) => Promise<ActionOutcome<V>>,
    options: { cleanup?: boolean } = {},
  ): Promise<ResultSet<V>> {
    const started = performance.now();
    this.events.emit({ type: 'action-start', action, object, targets: targets.map((t) => t.name) });
    const results = await mapWithLimit(targets, this.concurrency, async (target) => {
      if (this.cancellation.cancelled && options.cleanup !== true) {
        const result = failureResult(
          target.name,
          action,
          object,
          cancelledError(`${action} ${object} on ${target.name}`),
          0,
          { state: 'not started: nothing was changed on this host' },
        ) as Result<V>;
        this.events.emit({ type: 'target-finish', result });
        return result;
      }
      this.events.emit({ type: 'target-start', action, object, target: target.name });
      const t0 = performance.now();
      let result: Result<V>;
      try {
        const outcome = await perTarget(target);
        const elapsed = performance.now() - t0;
        result =
          outcome.failed === undefined
            ? successResult(target.name, action, object, outcome.value, elapsed, outcome.changed)
            : (failureResult(target.name, action, object, outcome.failed, elapsed, outcome.value) as Result<V>);
        if (outcome.noop) result.noop = outcome.noop;
      } catch (error) {
        result = failureResult(target.name, action, object, error, performance.now() - t0) as Result<V>;
      }
      this.events.emit({ type: 'target-finish', result });
      return result;
    });
    const set = new ResultSet(results, performance.now() - started);
    this.events.emit({ type: 'action-finish', action, object, ok: set.ok, elapsedMs: set.elapsedMs });
    return set;
  }
}

/** Maps items with at most `limit` promises in flight, keeping input order. */
export async function mapWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
