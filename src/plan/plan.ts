/**
 * The plan authoring API. A plan is an ordered list of named steps that call tasks (and, rarely,
 * commands) on targets chosen by role or name. Steps are named so that `--from STEP` can resume a
 * failed plan, and so that `--noop` can show, step by step and host by host, every command the
 * plan would run: the plan-level dry run Bolt lacks.
 */
import type { z } from 'zod';
import type { ResultSet } from '../executor/result.js';
import type { Role, Target } from '../inventory/target.js';
import type { Prompter } from '../interaction/prompter.js';
import type { ParamsSchema, TaskDefinition } from '../task/task.js';

/** Options for running a task from a plan. */
export interface PlanRunOptions {
  /** Return a failing ResultSet instead of failing the step. */
  catchErrors?: boolean;
}

/** What a plan step sees. */
export interface PlanContext<P> {
  readonly params: P;
  readonly noop: boolean;
  readonly prompter: Prompter;
  /** Targets by role (`primary`, `replica`, …) or by inventory name, group, alias or glob. */
  targets(spec: Role | string): Promise<Target[]>;
  /** Runs a task; fails the step if any target fails unless `catchErrors`. */
  runTask<S extends ParamsSchema>(
    task: TaskDefinition<S>,
    targets: readonly Target[],
    params?: z.input<S>,
    options?: PlanRunOptions,
  ): Promise<ResultSet>;
  /** A progress line for the operator (and the run log). */
  log(text: string): void;
  /** Values earlier steps stored for later ones (e.g. discovered facts). */
  readonly memo: Map<string, unknown>;
}

/** One named step. */
export interface PlanStep<P> {
  /** kebab-case, unique within the plan; what `--from` takes. */
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
}

/** Identity helper that gives the steps typed params. */
export function definePlan<S extends ParamsSchema>(definition: PlanDefinition<S>): PlanDefinition<S> {
  const seen = new Set<string>();
  for (const step of definition.steps) {
    if (seen.has(step.name)) throw new Error(`plan ${definition.name}: step "${step.name}" is defined twice`);
    seen.add(step.name);
  }
  return definition;
}
