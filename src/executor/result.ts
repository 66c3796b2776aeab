/**
 * Results, in Bolt's JSON shape so runbook scripts can parse them:
 * `{target, action, object, status, value, error?: {kind, msg, details}}`.
 * A failure is data: a Result with status 'failure' and an error, never an exception.
 */
import { toErrorData, type ErrorData } from '../errors/pef-error.js';

/** What kind of thing was run. */
export type Action = 'command' | 'task' | 'upload' | 'download' | 'plan';

/** The outcome on one target. */
export interface Result<V = Record<string, unknown>> {
  target: string;
  action: Action;
  object: string;
  status: 'success' | 'failure';
  value: V;
  error?: ErrorData;
  /** Whether the target was changed (tasks report this; commands are assumed to change). */
  changed?: boolean;
  elapsedMs: number;
}

/** A success Result. */
export function successResult<V>(
  target: string,
  action: Action,
  object: string,
  value: V,
  elapsedMs: number,
  changed?: boolean,
): Result<V> {
  return { target, action, object, status: 'success', value, ...(changed === undefined ? {} : { changed }), elapsedMs };
}

/** A failure Result from anything thrown. */
export function failureResult(
  target: string,
  action: Action,
  object: string,
  error: unknown,
  elapsedMs: number,
  value: Record<string, unknown> = {},
): Result {
  return { target, action, object, status: 'failure', value, error: toErrorData(error), elapsedMs };
}

/** The JSON shape of one item (Bolt's), without pef-internal timing. */
export interface ResultItem {
  target: string;
  action: Action;
  object: string;
  status: 'success' | 'failure';
  changed?: boolean;
  value: unknown;
  error?: ErrorData;
}

/** The JSON shape of a ResultSet, Bolt's `{items, target_count, elapsed_time}`. */
export interface ResultSetJson {
  items: ResultItem[];
  target_count: number;
  /** Seconds, like Bolt. */
  elapsed_time: number;
}

/** Exactly one Result per target of one action. */
export class ResultSet<V = Record<string, unknown>> implements Iterable<Result<V>> {
  constructor(
    readonly results: readonly Result<V>[],
    readonly elapsedMs: number,
  ) {}

  get ok(): boolean {
    return this.results.every((r) => r.status === 'success');
  }

  get targets(): string[] {
    return this.results.map((r) => r.target);
  }

  okSet(): Result<V>[] {
    return this.results.filter((r) => r.status === 'success');
  }

  errorSet(): Result<V>[] {
    return this.results.filter((r) => r.status === 'failure');
  }

  find(target: string): Result<V> | undefined {
    return this.results.find((r) => r.target === target);
  }

  [Symbol.iterator](): Iterator<Result<V>> {
    return this.results[Symbol.iterator]();
  }

  toJSON(): ResultSetJson {
    return {
      items: this.results.map(toItem),
      target_count: this.results.length,
      elapsed_time: round(this.elapsedMs / 1000),
    };
  }
}

function toItem(r: Result<unknown>): ResultItem {
  const item: ResultItem = { target: r.target, action: r.action, object: r.object, status: r.status, value: r.value };
  if (r.changed !== undefined) item.changed = r.changed;
  if (r.error) item.error = r.error;
  return item;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
