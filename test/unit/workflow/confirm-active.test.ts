/**
 * confirmActive: the typed-name confirmation of the workflow plans, through a plan run with a
 * scripted prompter (a terminal) and with the non-interactive one (a script without --yes).
 */
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { planExitCode } from '../../../src/cli/output.js';
import { NonInteractivePrompter, type Prompter, type QuestionBase } from '../../../src/interaction/prompter.js';
import { definePlan } from '../../../src/plan/plan.js';
import { runPlan, taskRegistry } from '../../../src/plan/run-plan.js';
import { confirmActive, CONFIRM_ATTEMPTS } from '../../../src/workflow/confirm-active.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

// A terminal whose operator types the given answers, one per question.
function typing(...answers: string[]): Prompter & { asked: QuestionBase[] } {
  const asked: QuestionBase[] = [];
  const next = (q: QuestionBase) => {
    asked.push(q);
    const answer = answers.shift();
    return answer === undefined ? Promise.reject(new Error('no more answers')) : Promise.resolve(answer);
  };
  return {
    interactive: true,
    asked,
    input: next,
    secret: () => Promise.reject(new Error('not asked')),
    confirm: () => Promise.reject(new Error('not asked')),
    select: () => Promise.reject(new Error('not asked')),
  };
}

// A plan that confirms, then "changes" something: the change is a flag the test reads.
function confirmingPlan(changed: { value: boolean }) {
  return definePlan({
    name: 'confirming',
    description: 'test',
    params: z.object({}),
    steps: [
      { name: 'confirm', description: 'confirm', run: (ctx) => confirmActive(ctx, 'replica-1') },
      {
        name: 'act',
        description: 'act',
        run: () => {
          changed.value = true;
          return Promise.resolve();
        },
      },
    ],
  });
}

async function run(options: { prompter?: Prompter; yes?: boolean; noop?: boolean }) {
  const changed = { value: false };
  const { runtime, events } = fakeRuntime([fakeTarget('replica-1')], () => ({}), {
    ...(options.prompter ? { prompter: options.prompter } : {}),
    noop: options.noop ?? false,
  });
  const result = await runPlan(
    runtime,
    confirmingPlan(changed),
    {},
    { tasks: taskRegistry([]), yes: options.yes ?? false },
  );
  const messages = events.flatMap((e) => (e.type === 'message' ? [e.text] : []));
  return { result, changed: changed.value, messages };
}

describe('confirmActive', () => {
  it('goes on when the operator types the name of the server that becomes active', async () => {
    const prompter = typing('replica-1');
    const { result, changed } = await run({ prompter });
    expect(result.status).toBe('success');
    expect(changed).toBe(true);
    expect(prompter.asked).toHaveLength(1);
    expect(prompter.asked[0]?.message).toContain('replica-1 will become the active server');
    expect(prompter.asked[0]?.instead).toBe('--yes');
  });

  it('asks again after a wrong name and runs nothing until the right one', async () => {
    const prompter = typing('primary-1', ' replica-1 ');
    const { result, changed, messages } = await run({ prompter });
    expect(result.status).toBe('success');
    expect(changed).toBe(true);
    expect(prompter.asked).toHaveLength(2);
    expect(messages).toContain('"primary-1" is not replica-1; nothing was changed');
  });

  it(`stops after ${CONFIRM_ATTEMPTS} wrong names: nothing run, exit 1`, async () => {
    const prompter = typing('a', 'b', 'c', 'replica-1');
    const { result, changed } = await run({ prompter });
    expect(result.status).toBe('failure');
    expect(changed).toBe(false);
    expect(prompter.asked).toHaveLength(CONFIRM_ATTEMPTS);
    expect(result.steps.map((s) => s.status)).toEqual(['failure', 'not-run']);
    expect(planExitCode(result)).toBe(1);
  });

  it('without a terminal and without --yes refuses naming --yes (exit 1), nothing run', async () => {
    const { result, changed } = await run({ prompter: new NonInteractivePrompter() });
    expect(changed).toBe(false);
    expect(result.steps[0]?.error).toMatchObject({ kind: 'pef/non-interactive' });
    expect(result.steps[0]?.error?.msg).toContain('pass --yes instead');
    expect(planExitCode(result)).toBe(1);
  });

  it('--yes answers it without asking, also without a terminal', async () => {
    const { result, changed, messages } = await run({ prompter: new NonInteractivePrompter(), yes: true });
    expect(result.status).toBe('success');
    expect(changed).toBe(true);
    expect(messages).toContain('confirmed with --yes: replica-1 becomes the active server');
  });

  it('a dry run asks nothing and says what a real run would ask', async () => {
    const { result, messages } = await run({ prompter: new NonInteractivePrompter(), noop: true });
    expect(result.status).toBe('success');
    expect(messages[0]).toMatch(/a real run asks to type "replica-1"/);
  });
});

describe('planExitCode', () => {
  it('is 2 for a step that failed on a host', () => {
    expect(planExitCode({ status: 'failure', error: { details: { cause: { kind: 'pef/task-failed' } } } })).toBe(2);
    expect(planExitCode({ status: 'success' })).toBe(0);
  });
});
