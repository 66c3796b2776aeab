/**
 * Unit tests for plans without a lab, as Bolt's BoltSpec::Plans (`allow_task`, `expect_task`):
 * the plan runs on in-memory targets, and every task it runs is a stub resolved through the
 * plan runner's TaskRegistry. A stub validates its params with the real task's schema and
 * answers with the result the test gave; no command reaches any host.
 *
 *   const spec = planSpec(targets);
 *   spec.expectTask('check_connection').withTargets('p', 'r').withParams({ expect_user: 'root' });
 *   const result = await spec.run(preflight);   // throws if an expectation was not met
 *
 * A task that is neither allowed nor expected fails its step (the registry does not know it) and
 * makes `run` throw; so does an expected task that did not run as described.
 */
import { isDeepStrictEqual } from 'node:util';
import { PefError, type PefErrorKind } from '../../src/errors/pef-error.js';
import type { RunEvent } from '../../src/executor/events.js';
import type { Target } from '../../src/inventory/target.js';
import type { Prompter } from '../../src/interaction/prompter.js';
import type { PlanDefinition } from '../../src/plan/plan.js';
import type { Cancellation } from '../../src/runtime/cancellation.js';
import { runPlan, type PlanResult, type TaskRegistry } from '../../src/plan/run-plan.js';
import type { TaskDefinition, TaskOutcome } from '../../src/task/task.js';
import type { HookSettings } from '../../src/workflow/hooks-config.js';
import { TASKS } from '../../tasks/index.js';
import { fakeRuntime } from './fake-runtime.js';

/** What a stubbed task answers on one target: its outcome, or an error message (and kind, default pef/task-failed) to fail with. */
export type StubAnswer = TaskOutcome | { error: string; kind?: PefErrorKind };

/** The answer for every target, or per target (and the params that run was given). */
export type StubReturns = StubAnswer | ((target: string, params: Record<string, unknown>) => StubAnswer);

/** One stubbed task, refined by chaining. */
export interface TaskStub {
  /** Each run must be on exactly these targets (any order). */
  withTargets(...targets: string[]): TaskStub;
  /** Each run's params must hold these values (defaults filled in by the task's schema count too). */
  withParams(params: Record<string, unknown>): TaskStub;
  /** What the task answers (default: success, unchanged, empty value). */
  returns(answer: StubReturns): TaskStub;
  /** How many runs are expected (expectTask's default is 1). */
  times(n: number): TaskStub;
}

/** A plan test; see the file comment. */
export interface PlanSpec {
  /** The task may run, any number of times, with any targets and params. */
  allowTask(name: string, answer?: StubReturns): TaskStub;
  /** The task must run (once unless `times`), as `withTargets`/`withParams` say. */
  expectTask(name: string): TaskStub;
  /** Runs the plan; throws listing every unmet expectation and every unexpected task. */
  run(
    plan: PlanDefinition,
    params?: Record<string, unknown>,
    options?: {
      noop?: boolean;
      from?: string;
      yes?: boolean;
      prompter?: Prompter;
      hooks?: HookSettings;
      cancellation?: Cancellation;
    },
  ): Promise<PlanResult>;
  /** The runs of each task, in order: targets and the validated params of each target. */
  readonly calls: { task: string; targets: string[]; params: Record<string, unknown>[] }[];
}

interface StubState {
  name: string;
  expected: boolean;
  times?: number;
  targets?: string[];
  params?: Record<string, unknown>;
  answer: StubReturns;
}

/** A plan test over `targets` (build them with fakeTarget, roles in vars.role). */
export function planSpec(targets: Target[]): PlanSpec {
  const stubs = new Map<string, StubState>();
  const calls: PlanSpec['calls'] = [];
  const unexpected: string[] = [];
  const paramsByTarget = new Map<string, Record<string, unknown>[]>();

  const stub = (name: string, expected: boolean, answer: StubReturns = { changed: false }): TaskStub => {
    if (!TASKS.some((t) => t.name === name))
      throw new Error(`planSpec: there is no task "${name}" (known: ${TASKS.map((t) => t.name).join(', ')})`);
    if (stubs.has(name)) throw new Error(`planSpec: task "${name}" is stubbed twice`);
    const state: StubState = { name, expected, answer, ...(expected ? { times: 1 } : {}) };
    stubs.set(name, state);
    const chain: TaskStub = {
      withTargets: (...names) => ((state.targets = names), chain),
      withParams: (params) => ((state.params = params), chain),
      returns: (a) => ((state.answer = a), chain),
      times: (n) => ((state.times = n), chain),
    };
    return chain;
  };

  const stubTask = (real: TaskDefinition, state: StubState): TaskDefinition => ({
    ...real,
    run: (ctx) => {
      const recorded = paramsByTarget.get(real.name) ?? [];
      recorded.push(ctx.params);
      paramsByTarget.set(real.name, recorded);
      const answer = typeof state.answer === 'function' ? state.answer(ctx.target.name, ctx.params) : state.answer;
      if ('error' in answer) return Promise.reject(new PefError(answer.kind ?? 'pef/task-failed', answer.error));
      return Promise.resolve(answer);
    },
  });

  const registry: TaskRegistry = {
    get: (name) => {
      const state = stubs.get(name);
      const real = TASKS.find((t) => t.name === name);
      if (!state || !real) {
        unexpected.push(name);
        return undefined;
      }
      return stubTask(real, state);
    },
  };

  const verify = (): string[] => {
    const problems = unexpected.map((name) => `task ${name} ran but was neither allowed nor expected`);
    for (const state of stubs.values()) {
      const runs = calls.filter((c) => c.task === state.name);
      if (state.times !== undefined && runs.length !== state.times)
        problems.push(`task ${state.name} was expected to run ${state.times} time(s), ran ${runs.length}`);
      for (const run of runs) {
        if (state.targets && !isDeepStrictEqual([...run.targets].sort(), [...state.targets].sort()))
          problems.push(`task ${state.name} ran on ${run.targets.join(', ')}, expected ${state.targets.join(', ')}`);
        const want = state.params;
        for (const got of want ? run.params : [])
          if (!Object.entries(want!).every(([k, v]) => isDeepStrictEqual(got[k], v)))
            problems.push(`task ${state.name} ran with ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      }
    }
    return problems;
  };

  return {
    calls,
    allowTask: (name, answer) => stub(name, false, answer),
    expectTask: (name) => stub(name, true),
    run: async (plan, params = {}, options = {}) => {
      const { runtime, sent, events } = fakeRuntime(
        targets,
        (target, command) => {
          throw new Error(`planSpec: a stubbed plan sent \`${command}\` to ${target}`);
        },
        {
          noop: options.noop ?? false,
          ...(options.prompter === undefined ? {} : { prompter: options.prompter }),
          ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
          ...(options.cancellation === undefined ? {} : { cancellation: options.cancellation }),
        },
      );
      const result = await runPlan(runtime, plan, params, {
        tasks: registry,
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.yes === undefined ? {} : { yes: options.yes }),
      });
      for (const e of events) collect(e);
      const problems = verify();
      if (sent.length > 0) problems.push(`commands reached hosts: ${sent.map((s) => s.command).join('; ')}`);
      if (problems.length > 0) throw new Error(`plan ${plan.name} did not run as specified:\n${problems.join('\n')}`);
      return result;
    },
  };

  // A task's runs, one per executor action; params are consumed in the order the stubs saw them.
  function collect(e: RunEvent): void {
    if (e.type !== 'action-start' || e.action !== 'task') return;
    const seen = paramsByTarget.get(e.object) ?? [];
    calls.push({ task: e.object, targets: e.targets, params: seen.splice(0, e.targets.length) });
  }
}
