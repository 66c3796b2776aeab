/**
 * The plan authoring API. A plan is an ordered list of named steps that call tasks (and, rarely,
 * commands) on targets chosen by role or name. Steps are named so that `--from STEP` can resume a
 * failed plan, and so that `--noop` can show, step by step and host by host, every command the
 * plan would run: the plan-level dry run Bolt lacks.
 *
 * Step names follow the task naming rule, snake_case (`sync_ca`), checked by definePlan.
 * Values shared between steps live in `memo`, and every memo key is declared on the plan with
 * the function that computes it: a step asks `await ctx.memo.get(key)`, which computes the
 * value once per run unless an earlier step `set` it. So a run resumed with `--from` gets the
 * values the skipped steps would have stored, recomputed, and nothing secret is written to disk.
 */
import type { z } from 'zod';
import type { ResultSet } from '../executor/result.js';
import type { Target } from '../inventory/target.js';
import type { Prompter } from '../interaction/prompter.js';
import { PefError } from '../errors/pef-error.js';
import type { ParamsSchema, TaskDefinition } from '../task/task.js';
import type { HookPoint } from '../workflow/hooks-config.js';
import type { HookOutcome } from '../workflow/hooks.js';

/** The naming rule for plan steps, the same as for task names: snake_case. */
export const STEP_NAME_PATTERN = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Values shared between steps; every key is declared on the plan with how to compute it. */
export interface PlanMemo {
  /** The value of `key`: what a step stored this run, else computed by the plan's declaration (once). */
  get(key: string): Promise<unknown>;
  /** Stores a value a step already has, so later steps need not recompute it. */
  set(key: string, value: unknown): void;
}

/** How a plan computes one memo value; it runs in the context of the step that first asks. */
export type MemoCompute<P> = (ctx: PlanContext<P>) => Promise<unknown>;

/** Options for running a task from a plan. */
export interface PlanRunOptions {
  /** Return a failing ResultSet instead of failing the step. */
  catchErrors?: boolean;
}

/** What a plan step sees. */
export interface PlanContext<P> {
  readonly params: P;
  readonly noop: boolean;
  /** `--yes`: the operator answered the confirmation of a destructive plan in advance (confirmActive). */
  readonly yes: boolean;
  readonly prompter: Prompter;
  /** Targets by Role (`primary`, `replica`, …) or by inventory name, group, alias or glob. */
  targets(spec: string): Promise<Target[]>;
  /** Runs a task; fails the step if any target fails unless `catchErrors`. */
  runTask<S extends ParamsSchema>(
    task: TaskDefinition<S>,
    targets: readonly Target[],
    params?: z.input<S>,
    options?: PlanRunOptions,
  ): Promise<ResultSet>;
  /** A progress line for the operator (and the run log). */
  log(text: string): void;
  /** Values shared between steps (e.g. discovered facts); see the file comment. */
  readonly memo: PlanMemo;
  /** Sets the plan's value (PlanResult.value, like a Bolt plan's return value); the last call wins. */
  returns(value: unknown): void;
  /**
   * Runs the config's hook commands for `point` on the controller, with `env` (`PEF_ACTIVE`,
   * `PEF_PREVIOUS`, …; PEF_HOOK and PEF_PLAN are added). A failing `before-*` hook throws
   * `pef/hook-failed`; a failing `after-*` one is reported in the outcome. See src/workflow/hooks.ts.
   */
  runHook(point: HookPoint, env?: Readonly<Record<string, string>>): Promise<HookOutcome>;
}

/** One named step. */
export interface PlanStep<P> {
  /** snake_case (STEP_NAME_PATTERN), unique within the plan; what `--from` takes. */
  readonly name: string;
  readonly description: string;
  run(ctx: PlanContext<P>): Promise<void>;
}

/** A plan; see the file comment. */
export interface PlanDefinition<S extends ParamsSchema = ParamsSchema> {
  readonly name: string;
  readonly description: string;
  readonly details?: string;
  readonly params: S;
  readonly steps: readonly PlanStep<z.output<S>>[];
  /** Every memo key a step may read or store, with how to compute it (so `--from` can resume). */
  readonly memo?: Readonly<Record<string, MemoCompute<z.output<S>>>>;
  /**
   * The put-back after a step failed or the run was cancelled (Ctrl-C): called once with where the
   * run stopped, its tasks run even after the cancellation (each command bounded by
   * CLEANUP_TIMEOUT_MS). Returns what it did (or left to do), appended to the run's error.
   * Not called on a dry run.
   */
  readonly onStop?: (ctx: PlanContext<z.output<S>>, stop: PlanStop) => Promise<string | undefined>;
}

/** Where a plan run stopped: the step that failed, or the first one not started after a cancel. */
export interface PlanStop {
  step: string;
  /** True when the step failed; false when it was not started (cancelled between steps). */
  failed: boolean;
  cancelled: boolean;
}

/** Checks step names (snake_case, unique) and gives the steps typed params. */
export function definePlan<S extends ParamsSchema>(definition: PlanDefinition<S>): PlanDefinition<S> {
  const seen = new Set<string>();
  for (const step of definition.steps) {
    if (!STEP_NAME_PATTERN.test(step.name))
      throw new PefError(
        'pef/validation-error',
        `plan ${definition.name}: step name "${step.name}" must be snake_case like task names (e.g. "${suggestName(step.name)}")`,
        { plan: definition.name, step: step.name },
      );
    if (seen.has(step.name))
      throw new PefError('pef/validation-error', `plan ${definition.name}: step "${step.name}" is defined twice`, {
        plan: definition.name,
        step: step.name,
      });
    seen.add(step.name);
  }
  return definition;
}

function suggestName(name: string): string {
  return (
    name
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'step'
  );
}
