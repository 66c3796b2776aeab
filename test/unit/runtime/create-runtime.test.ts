/**
 * createRuntime's checks and its name lookups, with an in-memory target source and a transport
 * that must never be asked for (nothing here connects). Running tasks for real is in
 * test/integration/runtime/create-runtime.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { PefError } from '../../../src/errors/pef-error.js';
import { NonInteractivePrompter } from '../../../src/interaction/prompter.js';
import { definePlan } from '../../../src/plan/plan.js';
import { createRuntime, type CreateRuntimeOptions } from '../../../src/runtime/create-runtime.js';
import { PLANS } from '../../../plans/index.js';
import { TASKS } from '../../../tasks/index.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';

const target = fakeTarget('a.test');
const inventory = {
  resolve: (spec: string | readonly string[]) => {
    const names = typeof spec === 'string' ? [spec] : [...spec];
    if (names.every((n) => n === 'a.test' || n === 'all')) return Promise.resolve([target]);
    return Promise.reject(new PefError('pef/unknown-target', `unknown ${names.join(',')}`));
  },
  targetsWithRole: () => [target],
};
const noTransport = () => {
  throw new Error('nothing in these tests may connect');
};
const build = (options: Partial<CreateRuntimeOptions> = {}) =>
  createRuntime(
    { inventory, format: 'json', prompter: new NonInteractivePrompter(), ...options },
    { transportFor: noTransport },
  );

const record: string[] = [];
const statusPlan = definePlan({
  name: 'status',
  description: 'a stand-in status plan',
  params: z.object({}),
  steps: [
    {
      name: 'look',
      description: 'records that it ran',
      run: async (ctx) => {
        record.push(`status ran on ${(await ctx.targets('all')).map((t) => t.name).join(',')}`);
      },
    },
  ],
});

describe('createRuntime', () => {
  it.each([
    [{ concurrency: 0 }, 'concurrency'],
    [{ concurrency: 1.5 }, 'concurrency'],
    [{ format: 'yaml' as 'json' }, 'format'],
    [{ inventory: undefined as unknown as string }, 'inventory'],
  ])('refuses %j with a usage error naming the option', (bad, option) => {
    let caught: unknown;
    try {
      build(bad);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PefError);
    expect(caught).toMatchObject({ kind: 'pef/usage-error', details: { option }, exitCode: 1 });
  });

  it('resolves target specs through the inventory', async () => {
    const runtime = build();
    await expect(runtime.targets('a.test')).resolves.toEqual([target]);
    await expect(runtime.targets(['nope'])).rejects.toMatchObject({ kind: 'pef/unknown-target' });
  });

  it('names an unknown task or plan with the kinds the CLI uses', async () => {
    const runtime = build({ tasks: [], plans: [statusPlan] });
    await expect(runtime.runTask('sync_ca', 'a.test')).rejects.toMatchObject({ kind: 'pef/unknown-task' });
    await expect(runtime.runPlan('setup')).rejects.toMatchObject({
      kind: 'pef/unknown-plan',
      details: { plan: 'setup', known: ['status'] },
    });
  });

  it('resolves names in the bundled TASKS and PLANS by default', async () => {
    const runtime = build();
    await expect(runtime.runTask('check_conection', 'a.test')).rejects.toMatchObject({
      kind: 'pef/unknown-task',
      details: { known: TASKS.map((t) => t.name) },
    });
    await expect(runtime.runPlan('set_up')).rejects.toMatchObject({
      kind: 'pef/unknown-plan',
      details: { known: PLANS.map((p) => p.name) },
    });
  });

  it('status() runs the plan named status from the runtime plan registry', async () => {
    record.length = 0;
    const result = await build({ plans: [statusPlan] }).status();
    expect(result).toMatchObject({ plan: 'status', status: 'success', steps: [{ name: 'look', status: 'success' }] });
    expect(record).toEqual(['status ran on a.test']);
  });

  it('status() runs the bundled status plan by default (here nothing can connect: unhealthy, as data)', async () => {
    const result = await build().status();
    expect(result).toMatchObject({
      plan: 'status',
      status: 'failure',
      value: { healthy: false },
      steps: [
        { name: 'read', status: 'success' },
        { name: 'report', status: 'failure' },
      ],
    });
    expect(result.error?.msg).toContain('nothing in these tests may connect');
  });

  it('status() without a status plan fails with pef/unknown-plan and runs nothing', async () => {
    record.length = 0;
    const other = definePlan({ ...statusPlan, name: 'other' });
    const promise = build({ plans: [other] }).status();
    await expect(promise).rejects.toBeInstanceOf(PefError);
    await expect(promise).rejects.toMatchObject({
      kind: 'pef/unknown-plan',
      message: expect.stringContaining('has none (its plans: other)') as unknown,
    });
    expect(record).toEqual([]);
  });

  it('runs a plan by definition, resuming with from', async () => {
    record.length = 0;
    const result = await build({ plans: [] }).runPlan(statusPlan, {}, { from: 'look' });
    expect(result.steps.map((s) => s.status)).toEqual(['success']);
    await expect(build().runPlan(statusPlan, {}, { from: 'later' })).rejects.toMatchObject({
      kind: 'pef/unknown-step',
    });
  });
});
