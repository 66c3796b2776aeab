/**
 * Runs a plan's steps in order. `from` skips the steps before the named one (resume after a
 * failure); noop flows to every task. The first failing step stops the plan: later steps are
 * reported as not run, and the error says how to resume. A cancelled run (Ctrl-C) starts no
 * further step: the plan fails with `pef/cancelled`, the rest reported as not run. Either way a
 * plan's put-back (`onStop`) then runs, its tasks unrefused by the cancellation. The tasks a
 * plan runs are looked up by name in the TaskRegistry the caller gives (the bundled catalog for
 * the CLI, stubs in a plan test), so what runs is the registry's, not whatever the plan module imported.
 */
import { PefError, toErrorData, type ErrorData } from '../errors/pef-error.js';
import type { ResultSet, ResultSetJson } from '../executor/result.js';
import { isRole, type Target } from '../inventory/target.js';
import type { Runtime } from '../runtime/runtime.js';
import { validateParams } from '../task/params.js';
import { runTask } from '../task/run-task.js';
import type { TaskDefinition } from '../task/task.js';
import { runHook } from '../workflow/hooks.js';
import type { PlanContext, PlanDefinition, PlanMemo, PlanStop } from './plan.js';

/** Tasks by name: a ReadonlyMap of the bundled tasks in a run, stubs in a plan test. */
export interface TaskRegistry {
  get(name: string): TaskDefinition | undefined;
}

/** A registry of `tasks`, keyed by their names. */
export function taskRegistry(tasks: readonly TaskDefinition[]): TaskRegistry {
  return new Map(tasks.map((t) => [t.name, t]));
}

/** How one step ended. */
export interface StepReport {
  name: string;
  status: 'success' | 'failure' | 'skipped' | 'not-run';
  elapsed_time: number;
  results: ResultSetJson[];
  error?: ErrorData;
}

/** The JSON shape of a plan run. */
export interface PlanResult {
  plan: string;
  status: 'success' | 'failure';
  noop: boolean;
  /** How many task results, over all steps, changed a host (or would, on a noop run): 0 when a plan had nothing to do. */
  changed: number;
  steps: StepReport[];
  elapsed_time: number;
  /** What a step gave `ctx.returns` (e.g. status's document); absent when none did. */
  value?: unknown;
  error?: ErrorData;
}

/** Options for a plan run. */
export interface RunPlanOptions {
  /** Where the plan's tasks are resolved, by name. */
  tasks: TaskRegistry;
  /** Resume: skip the steps before this one. */
  from?: string;
  /** `--yes`: confirmations are answered in advance (PlanContext.yes). */
  yes?: boolean;
}

/** Runs `plan`; never throws for a failing step (the PlanResult says so), only for bad input. */
export async function runPlan(
  runtime: Runtime,
  plan: PlanDefinition,
  rawParams: Record<string, unknown>,
  options: RunPlanOptions,
): Promise<PlanResult> {
  const params = validateParams(plan.params, rawParams, { kind: 'plan', name: plan.name });
  const names = plan.steps.map((s) => s.name);
  let startAt = 0;
  if (options.from !== undefined) {
    startAt = names.indexOf(options.from);
    if (startAt < 0) {
      throw new PefError(
        'pef/unknown-step',
        `Plan ${plan.name} has no step "${options.from}". Its steps are: ${names.join(', ')}.`,
        {
          plan: plan.name,
          steps: names,
        },
      );
    }
  }

  const started = performance.now();
  const memo = new Map<string, Promise<unknown>>();
  const reports: StepReport[] = [];
  const returned: { value?: unknown } = {};
  let failure: ErrorData | undefined;
  let stop: PlanStop | undefined;

  for (const [index, step] of plan.steps.entries()) {
    if (index < startAt) {
      runtime.events.emit({ type: 'step-skip', plan: plan.name, step: step.name, reason: `--from ${options.from}` });
      reports.push({ name: step.name, status: 'skipped', elapsed_time: 0, results: [] });
      continue;
    }
    if (!failure && runtime.cancellation.cancelled) {
      failure = {
        kind: 'pef/cancelled',
        msg: `Plan ${plan.name} was interrupted before step "${step.name}"; no further step was started.\nResume with: pef plan run ${plan.name} --from ${step.name}`,
        details: { plan: plan.name, step: step.name, reason: runtime.cancellation.reason },
      };
      stop = { step: step.name, failed: false, cancelled: true };
    }
    if (failure) {
      reports.push({ name: step.name, status: 'not-run', elapsed_time: 0, results: [] });
      continue;
    }
    runtime.events.emit({ type: 'step-start', plan: plan.name, step: step.name, index, total: plan.steps.length });
    runtime.log.write('info', `plan ${plan.name} step ${step.name} start`);
    const t0 = performance.now();
    const results: ResultSetJson[] = [];
    try {
      await step.run(planContext(runtime, plan, step.name, options, params, memo, results, returned));
      const elapsed = performance.now() - t0;
      reports.push({ name: step.name, status: 'success', elapsed_time: seconds(elapsed), results });
      runtime.events.emit({ type: 'step-finish', plan: plan.name, step: step.name, ok: true, elapsedMs: elapsed });
    } catch (error) {
      const elapsed = performance.now() - t0;
      const data = toErrorData(error);
      failure = {
        kind: runtime.cancellation.cancelled ? 'pef/cancelled' : 'pef/plan-failed',
        msg: `Plan ${plan.name} failed at step "${step.name}": ${data.msg}\nFix the cause, then resume with: pef plan run ${plan.name} --from ${step.name}`,
        details: { plan: plan.name, step: step.name, cause: data },
      };
      stop = { step: step.name, failed: true, cancelled: runtime.cancellation.cancelled };
      reports.push({ name: step.name, status: 'failure', elapsed_time: seconds(elapsed), results, error: data });
      runtime.log.write('error', `plan ${plan.name} step ${step.name} failed: ${data.msg}`);
      runtime.events.emit({ type: 'step-finish', plan: plan.name, step: step.name, ok: false, elapsedMs: elapsed });
    }
  }

  if (failure && stop && plan.onStop && !runtime.noop) {
    const last = reports.find((r) => r.name === stop.step);
    const ctx = planContext(runtime, plan, stop.step, options, params, memo, last?.results ?? [], returned, {
      cleanup: true,
    });
    const note = await plan
      .onStop(ctx, stop)
      .catch((error: unknown) => `the put-back failed: ${toErrorData(error).msg}`);
    if (note) failure.msg = `${failure.msg}\n${note}`;
  }

  const result: PlanResult = {
    plan: plan.name,
    status: failure ? 'failure' : 'success',
    noop: runtime.noop,
    changed: countChanged(reports),
    steps: reports,
    elapsed_time: seconds(performance.now() - started),
  };
  if ('value' in returned) result.value = returned.value;
  if (failure) result.error = failure;
  return result;
}

function planContext<P>(
  runtime: Runtime,
  plan: PlanDefinition,
  step: string,
  run: RunPlanOptions,
  params: P,
  memo: Map<string, Promise<unknown>>,
  results: ResultSetJson[],
  returned: { value?: unknown },
  mode: { cleanup?: boolean } = {},
): PlanContext<P> {
  const ctx: PlanContext<P> = {
    params,
    returns: (value) => {
      returned.value = value;
    },
    noop: runtime.noop,
    yes: run.yes === true,
    prompter: runtime.prompter,
    memo: planMemo(plan, step, memo, () => ctx),
    targets: async (spec: string): Promise<Target[]> =>
      isRole(spec) ? await runtime.targets.targetsWithRole(spec) : await runtime.targets.resolve(spec),
    runTask: async (wanted, targets, params, options = {}): Promise<ResultSet> => {
      const task = run.tasks.get(wanted.name);
      if (!task)
        throw new PefError(
          'pef/unknown-task',
          `Plan ${plan.name} step ${step} runs task ${wanted.name}, which is not among the tasks this run knows.`,
          { plan: plan.name, step, task: wanted.name },
        );
      const set =
        runtime.noop && !task.supportsNoop
          ? await previewOnly(runtime, task.name, targets)
          : await runTask(runtime, task, targets, params ?? {}, { cleanup: mode.cleanup === true });
      results.push(set.toJSON());
      if (!set.ok && !options.catchErrors) {
        const failed = set.errorSet();
        const lines = failed.map((r) => `${r.target}: ${r.error?.msg ?? 'failed'}`);
        throw new PefError(
          'pef/run-failure',
          `task ${task.name} failed on ${failed.length} of ${set.results.length} target(s):\n${lines.join('\n')}`,
          {
            task: task.name,
            targets: failed.map((r) => r.target),
          },
        );
      }
      return set;
    },
    log: (text) => {
      runtime.events.emit({ type: 'message', text });
      runtime.log.write('info', text);
    },
    runHook: (point, env) => runHook(runtime, plan.name, point, env),
  };
  return ctx;
}

// The run's memo as one step sees it: only declared keys, each computed at most once per run
// (a failed computation is forgotten, so a later step may try again).
function planMemo(
  plan: PlanDefinition,
  step: string,
  store: Map<string, Promise<unknown>>,
  ctx: () => unknown,
): PlanMemo {
  const declared = (key: string) => {
    const compute = plan.memo?.[key];
    if (!compute)
      throw new PefError(
        'pef/validation-error',
        `Plan ${plan.name} step ${step} uses memo key "${key}", which the plan does not declare; declare it in the plan's memo with how to compute it, so a run resumed with --from can recompute it.`,
        { plan: plan.name, step, key, declared: Object.keys(plan.memo ?? {}) },
      );
    return compute;
  };
  return {
    get: (key) => {
      const compute = declared(key);
      let value = store.get(key);
      if (!value) {
        // The context is the plan's own (planContext is built from plan.params' output).
        value = compute(ctx() as Parameters<typeof compute>[0]);
        store.set(key, value);
        value.catch(() => store.delete(key));
      }
      return value;
    },
    set: (key, value) => {
      declared(key);
      store.set(key, Promise.resolve(value));
    },
  };
}

// A task that cannot preview its commands is not run at all in a plan-level dry run; the
// result says so, so the operator sees the gap instead of a silent skip.
function previewOnly(runtime: Runtime, task: string, targets: readonly Target[]): Promise<ResultSet> {
  return runtime.executor.run('task', task, targets, (target) => {
    runtime.events.emit({
      type: 'noop-command',
      target: target.name,
      command: `(task ${task}: runs for real only; it cannot preview its commands)`,
      preview: 'unsupported',
    });
    return Promise.resolve({ value: {}, changed: true, noop: { wouldRun: [], preview: 'unsupported' as const } });
  });
}

function countChanged(reports: readonly StepReport[]): number {
  return reports.flatMap((r) => r.results.flatMap((set) => set.items)).filter((item) => item.changed === true).length;
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}
