/**
 * Results, in Bolt's JSON shape so runbook scripts can parse them:
 * `{target, action, object, status, value, error?: {kind, msg, details}}`.
 * A failure is data: a Result with status 'failure' and an error, never an exception.
 */
import { toErrorData, type ErrorData } from '../errors/pef-error.js';

/** What kind of thing was run. */
export type Action = 'command' | 'task' | 'upload' | 'download' | 'plan';

/** What a noop run recorded for one target: framework data, kept apart from the task's own value. */
export interface NoopReport {
  /** The commands that would have changed the host, in order. */
  wouldRun: string[];
  /** `unsupported`: the task cannot preview its commands, so a plan-level dry run did not run it. */
  preview?: 'unsupported';
}

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
  /** Set on a noop run only. */
  noop?: NoopReport;
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

/**
 * The JSON shape of one item (Bolt's), without pef-internal timing. Framework data sits in
 * `_`-prefixed fields beside `value`, as Bolt reserves `_` keys, so `value` is only the task's.
 */
export interface ResultItem {
  target: string;
  action: Action;
  object: string;
  status: 'success' | 'failure';
  changed?: boolean;
  value: unknown;
  error?: ErrorData;
  /** Present (true) on a noop run. */
  _noop?: true;
  /** On a noop run: the commands that would have changed the host. */
  _would_run?: string[];
  /** On a noop plan run: `unsupported` when the task could not preview and was not run. */
  _preview?: 'unsupported';
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
  if (r.noop) {
    item._noop = true;
    item._would_run = r.noop.wouldRun;
    if (r.noop.preview) item._preview = r.noop.preview;
  }
  return item;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
