/**
 * Runs a plan's steps in order. `from` skips the steps before the named one (resume after a
 * failure); noop flows to every task. The first failing step stops the plan: later steps are
 * reported as not run, and the error says how to resume.
 */
import { PefError, toErrorData, type ErrorData } from '../errors/pef-error.js';
import type { ResultSet, ResultSetJson } from '../executor/result.js';
import { isRole, type Target } from '../inventory/target.js';
import type { Runtime } from '../runtime/runtime.js';
import { validateParams } from '../task/params.js';
import { runTask } from '../task/run-task.js';
import type { PlanContext, PlanDefinition } from './plan.js';

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
  steps: StepReport[];
  elapsed_time: number;
  error?: ErrorData;
}

/** Options for a plan run. */
export interface RunPlanOptions {
  /** Resume: skip the steps before this one. */
  from?: string;
}

/** Runs `plan`; never throws for a failing step (the PlanResult says so), only for bad input. */
export async function runPlan(
  runtime: Runtime,
  plan: PlanDefinition,
  rawParams: Record<string, unknown>,
  options: RunPlanOptions = {},
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
  const memo = new Map<string, unknown>();
  const reports: StepReport[] = [];
  let failure: ErrorData | undefined;

  for (const [index, step] of plan.steps.entries()) {
    if (index < startAt) {
      runtime.events.emit({ type: 'step-skip', plan: plan.name, step: step.name, reason: `--from ${options.from}` });
      reports.push({ name: step.name, status: 'skipped', elapsed_time: 0, results: [] });
      continue;
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
      await step.run(planContext(runtime, params, memo, results));
      const elapsed = performance.now() - t0;
      reports.push({ name: step.name, status: 'success', elapsed_time: seconds(elapsed), results });
      runtime.events.emit({ type: 'step-finish', plan: plan.name, step: step.name, ok: true, elapsedMs: elapsed });
    } catch (error) {
      const elapsed = performance.now() - t0;
      const data = toErrorData(error);
      failure = {
        kind: 'pef/plan-failed',
        msg: `Plan ${plan.name} failed at step "${step.name}": ${data.msg}\nFix the cause, then resume with: pef plan run ${plan.name} --from ${step.name}`,
        details: { plan: plan.name, step: step.name, cause: data },
      };
      reports.push({ name: step.name, status: 'failure', elapsed_time: seconds(elapsed), results, error: data });
      runtime.log.write('error', `plan ${plan.name} step ${step.name} failed: ${data.msg}`);
      runtime.events.emit({ type: 'step-finish', plan: plan.name, step: step.name, ok: false, elapsedMs: elapsed });
    }
  }

  const result: PlanResult = {
    plan: plan.name,
    status: failure ? 'failure' : 'success',
    noop: runtime.noop,
    steps: reports,
    elapsed_time: seconds(performance.now() - started),
  };
  if (failure) result.error = failure;
  return result;
}

function planContext<P>(
  runtime: Runtime,
  params: P,
  memo: Map<string, unknown>,
  results: ResultSetJson[],
): PlanContext<P> {
  return {
    params,
    noop: runtime.noop,
    prompter: runtime.prompter,
    memo,
    targets: async (spec: string): Promise<Target[]> =>
      isRole(spec) ? await runtime.targets.targetsWithRole(spec) : await runtime.targets.resolve(spec),
    runTask: async (task, targets, params, options = {}): Promise<ResultSet> => {
      const set =
        runtime.noop && !task.supportsNoop
          ? await previewOnly(runtime, task.name, targets)
          : await runTask(runtime, task, targets, params ?? {});
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
    });
    return Promise.resolve({ value: {}, changed: true, noop: { wouldRun: [], preview: 'unsupported' as const } });
  });
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}
