/**
 * The wizard's flow without a terminal (the pty tests are test/integration/cli/wizard-tty.test.ts):
 * it refuses at once, before reading a host, without --yes and a terminal; it runs the plan it
 * offers with to= the spare only after the typed name is right; --force needs confirm= naming the
 * server overridden; --yes runs unattended.
 */
import { describe, expect, it } from '@jest/globals';
import { PefError } from '../../../src/errors/pef-error.js';
import { NonInteractivePrompter, type Prompter } from '../../../src/interaction/prompter.js';
import type { PlanDefinition } from '../../../src/plan/plan.js';
import type { PlanResult } from '../../../src/plan/run-plan.js';
import type { PefRuntime } from '../../../src/runtime/create-runtime.js';
import { runWizard, type WizardFlags } from '../../../src/cli/wizard.js';
import { failover } from '../../../plans/failover.js';
import { switchover } from '../../../plans/switchover.js';
import { pairDoc } from '../../helpers/status-doc.js';

/** A runtime whose status() gives `doc` and whose runPlan records its calls. */
function runtime(doc = pairDoc({ read: false, serves: false })) {
  const plans: { plan: string; params: Record<string, unknown>; noop: boolean; yes: boolean }[] = [];
  let statusCalls = 0;
  const pef = {
    status: () => {
      statusCalls++;
      return Promise.resolve({
        plan: 'status',
        status: 'success',
        noop: false,
        changed: 0,
        steps: [],
        elapsed_time: 0,
        value: doc,
      });
    },
    runPlan: (plan: PlanDefinition, params: Record<string, unknown>, options: { noop?: boolean; yes?: boolean }) => {
      plans.push({ plan: plan.name, params, noop: options.noop === true, yes: options.yes === true });
      return Promise.resolve({
        plan: plan.name,
        status: 'success',
        noop: options.noop === true,
        changed: 1,
        steps: [],
        elapsed_time: 1,
      } satisfies PlanResult);
    },
  } as unknown as PefRuntime;
  return { pef, plans, statusCalls: () => statusCalls };
}

/** A terminal prompter answering from a script; records the questions. */
function scripted(answers: string[]): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string) => {
    asked.push(message);
    const answer = answers.shift();
    if (answer === undefined) throw new Error(`unexpected question: ${message}`);
    return answer;
  };
  return {
    interactive: true,
    asked,
    input: (q) => Promise.resolve(next(q.message)),
    secret: () => Promise.reject(new Error('no secrets here')),
    confirm: (q) => Promise.resolve(next(q.message) === 'y'),
    select: <T extends string>(q: { message: string }) => Promise.resolve(next(q.message) as T),
  };
}

function run(pef: PefRuntime, prompter: Prompter, flags: WizardFlags = {}) {
  const said: string[] = [];
  const plan = (name: 'switchover' | 'failover') => Promise.resolve(name === 'failover' ? failover : switchover);
  return { said, done: runWizard({ pef, prompter, plan, say: (t) => said.push(t), width: 60 }, flags) };
}

describe('pef failover (the wizard)', () => {
  it('without a terminal and without --yes refuses at once, naming --yes, before reading a host', async () => {
    const r = runtime();
    const error = await run(r.pef, new NonInteractivePrompter()).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PefError);
    expect((error as PefError).kind).toBe('pef/non-interactive');
    expect((error as PefError).exitCode).toBe(1);
    expect((error as PefError).message).toMatch(/--yes/);
    expect(r.statusCalls()).toBe(0);
  });

  it('runs the failover to the spare only once the typed name is right', async () => {
    const r = runtime();
    const prompter = scripted(['n', 'a', 'b']);
    const { said, done } = run(r.pef, prompter);
    const { code, report } = await done;
    expect(code).toBe(0);
    expect(report.mode).toBe('failover');
    expect(prompter.asked.filter((q) => q.includes('Type its inventory name'))).toHaveLength(2);
    expect(said).toContain('"a" is not b; nothing was changed');
    expect(r.plans).toEqual([{ plan: 'failover', params: { to: 'b' }, noop: false, yes: true }]);
  });

  it('three wrong names: exit 1, no plan run', async () => {
    const r = runtime();
    const error = await run(r.pef, scripted(['n', 'x', 'y', 'z'])).done.catch((e: unknown) => e);
    expect((error as PefError).exitCode).toBe(1);
    expect(r.plans).toEqual([]);
  });

  it('a dry run first when the commands are asked for', async () => {
    const r = runtime();
    await run(r.pef, scripted(['y', 'b'])).done;
    expect(r.plans.map((p) => [p.plan, p.noop])).toEqual([
      ['failover', true],
      ['failover', false],
    ]);
  });

  it('offers a switchover when both are up; --yes runs it without a question', async () => {
    const r = runtime(pairDoc());
    const { code, report } = await run(r.pef, new NonInteractivePrompter(), { yes: true }).done;
    expect(code).toBe(0);
    expect(report.mode).toBe('switchover');
    expect(r.plans).toEqual([{ plan: 'switchover', params: { to: 'b' }, noop: false, yes: true }]);
  });

  it('asks which plan when the active server is up but not serving; without a terminal --mode answers', async () => {
    const r = runtime(pairDoc({ serves: false }));
    const refused = await run(r.pef, new NonInteractivePrompter(), { yes: true }).done.catch((e: unknown) => e);
    expect((refused as PefError).message).toMatch(/--mode switchover\|failover/);
    expect(r.plans).toEqual([]);
    await run(r.pef, new NonInteractivePrompter(), { yes: true, mode: 'failover' }).done;
    expect(r.plans.map((p) => p.plan)).toEqual(['failover']);
  });

  it('--force needs confirm= naming the server overridden', async () => {
    const r = runtime();
    const wrong = await run(r.pef, new NonInteractivePrompter(), { yes: true, force: true, confirm: 'b' }).done.catch(
      (e: unknown) => e,
    );
    expect((wrong as PefError).message).toMatch(/confirm=a/);
    expect(r.plans).toEqual([]);
    await run(r.pef, new NonInteractivePrompter(), { yes: true, force: true, confirm: 'a' }).done;
    expect(r.plans).toEqual([{ plan: 'failover', params: { to: 'b', force: true }, noop: false, yes: true }]);
  });
});
