import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { PefError } from '../../../src/errors/pef-error.js';
import { definePlan } from '../../../src/plan/plan.js';
import { runPlan, taskRegistry } from '../../../src/plan/run-plan.js';
import { defineTask } from '../../../src/task/task.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

const touch = defineTask({
  name: 'touch',
  description: '',
  params: z.object({ file: z.string() }),
  supportsNoop: true,
  async run(ctx) {
    await ctx.change(`touch ${ctx.params.file}`);
    return { changed: true };
  },
});

const rawTask = defineTask({
  name: 'raw',
  description: '',
  params: z.object({}),
  supportsNoop: false,
  run: async () => ({ changed: true }),
});

const tasks = taskRegistry([touch, rawTask]);

const targets = [fakeTarget('p', { role: 'primary' }), fakeTarget('r', { role: 'replica' })];

const plan = definePlan({
  name: 'demo',
  description: '',
  params: z.object({ fail_at: z.string().optional() }),
  steps: ['one', 'two', 'three'].map((name) => ({
    name,
    description: name,
    async run(ctx) {
      if (ctx.params.fail_at === name) throw new PefError('pef/task-failed', `${name} broke`);
      await ctx.runTask(touch, await ctx.targets(name === 'two' ? 'replica' : 'primary'), { file: `/tmp/${name}` });
    },
  })),
});

describe('runPlan', () => {
  it('runs every step in order on the targets chosen by role', async () => {
    const { runtime, sent } = fakeRuntime(targets);
    const result = await runPlan(runtime, plan, {}, { tasks });
    expect(result.status).toBe('success');
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([
      ['one', 'success'],
      ['two', 'success'],
      ['three', 'success'],
    ]);
    expect(sent).toEqual([
      { target: 'p', command: 'touch /tmp/one' },
      { target: 'r', command: 'touch /tmp/two' },
      { target: 'p', command: 'touch /tmp/three' },
    ]);
  });

  it('stops at the failing step, marks the rest not run, and says how to resume', async () => {
    const { runtime, sent } = fakeRuntime(targets);
    const result = await runPlan(runtime, plan, { fail_at: 'two' }, { tasks });
    expect(result.status).toBe('failure');
    expect(result.steps.map((s) => s.status)).toEqual(['success', 'failure', 'not-run']);
    expect(result.error?.msg).toContain('pef plan run demo --from two');
    expect(sent.map((s) => s.command)).toEqual(['touch /tmp/one']);
  });

  it('resumes with --from, skipping earlier steps', async () => {
    const { runtime, sent } = fakeRuntime(targets);
    const result = await runPlan(runtime, plan, {}, { tasks, from: 'two' });
    expect(result.steps.map((s) => s.status)).toEqual(['skipped', 'success', 'success']);
    expect(sent.map((s) => s.command)).toEqual(['touch /tmp/two', 'touch /tmp/three']);
  });

  it('refuses an unknown --from step, listing the steps', async () => {
    const { runtime } = fakeRuntime(targets);
    await expect(runPlan(runtime, plan, {}, { tasks, from: 'nine' })).rejects.toMatchObject({
      kind: 'pef/unknown-step',
      message: expect.stringContaining('one, two, three'),
    });
  });

  it('in noop sends no change and lists, per step and host, the commands it would run', async () => {
    const { runtime, sent } = fakeRuntime(targets, () => ({}), { noop: true });
    const result = await runPlan(runtime, plan, {}, { tasks });
    expect(sent).toEqual([]);
    expect(result.noop).toBe(true);
    const wouldRun = result.steps.map((s) =>
      s.results.flatMap((set) => set.items.map((i) => [i.target, i._would_run])),
    );
    expect(wouldRun).toEqual([[['p', ['touch /tmp/one']]], [['r', ['touch /tmp/two']]], [['p', ['touch /tmp/three']]]]);
  });

  it('in noop does not run a task that cannot preview, and says so', async () => {
    const withRaw = definePlan({
      name: 'raw-plan',
      description: '',
      params: z.object({}),
      steps: [
        {
          name: 'raw',
          description: '',
          run: async (ctx) => void (await ctx.runTask(rawTask, await ctx.targets('primary'))),
        },
      ],
    });
    const { runtime, events } = fakeRuntime(targets, () => ({}), { noop: true });
    const result = await runPlan(runtime, withRaw, {}, { tasks });
    expect(result.status).toBe('success');
    // Framework data beside the value, never inside it: the task's own value stays empty.
    expect(result.steps[0]?.results[0]?.items[0]).toMatchObject({
      value: {},
      _noop: true,
      _would_run: [],
      _preview: 'unsupported',
    });
    expect(events.some((e) => e.type === 'noop-command' && e.command.includes('cannot preview'))).toBe(true);
  });

  it('fails the step when a task fails on a target', async () => {
    const { runtime } = fakeRuntime(targets, () => ({ exitCode: 1, stderr: 'disk full' }));
    const result = await runPlan(runtime, plan, {}, { tasks });
    expect(result.steps[0]?.status).toBe('failure');
    expect(result.steps[0]?.error?.kind).toBe('pef/run-failure');
    expect(result.steps[0]?.error?.msg).toContain('disk full');
  });

  it('rejects a plan with two steps of one name', () => {
    expect(() =>
      definePlan({
        name: 'x',
        description: '',
        params: z.object({}),
        steps: [
          { name: 'a', description: '', run: async () => {} },
          { name: 'a', description: '', run: async () => {} },
        ],
      }),
    ).toThrow('defined twice');
  });

  it('rejects a step name that is not snake_case, naming a fix', () => {
    for (const name of ['sync-ca', 'SyncCa', 'sync ca', '_x', '1step']) {
      expect(() =>
        definePlan({
          name: 'x',
          description: '',
          params: z.object({}),
          steps: [{ name, description: '', run: async () => {} }],
        }),
      ).toThrow(/must be snake_case like task names/);
    }
    expect(() =>
      definePlan({
        name: 'x',
        description: '',
        params: z.object({}),
        steps: [{ name: 'sync-ca', description: '', run: async () => {} }],
      }),
    ).toThrow('"sync_ca"');
  });

  it('runs the task the registry has under the name, and refuses a task the registry lacks', async () => {
    const stand = defineTask({ ...touch, run: () => Promise.resolve({ changed: false, value: { from: 'registry' } }) });
    const { runtime, sent } = fakeRuntime(targets);
    const result = await runPlan(runtime, plan, {}, { tasks: taskRegistry([stand]) });
    expect(sent).toEqual([]);
    expect(result.steps[0]?.results[0]?.items[0]?.value).toEqual({ from: 'registry' });
    const missing = await runPlan(fakeRuntime(targets).runtime, plan, {}, { tasks: taskRegistry([]) });
    expect(missing.steps[0]?.error).toMatchObject({ kind: 'pef/unknown-task' });
  });
});

describe('plan memo', () => {
  let computed = 0;
  const memoPlan = definePlan({
    name: 'memo_demo',
    description: '',
    params: z.object({}),
    memo: {
      replica: async (ctx) => {
        computed += 1;
        return (await ctx.targets('replica'))[0]?.name;
      },
    },
    steps: [
      {
        name: 'discover',
        description: '',
        run: async (ctx) => void (await ctx.memo.get('replica')),
      },
      {
        name: 'use',
        description: '',
        run: async (ctx) => {
          const replica = await ctx.memo.get('replica');
          await ctx.runTask(touch, await ctx.targets('primary'), { file: `/tmp/for-${String(replica)}` });
        },
      },
    ],
  });

  it('computes a declared value once per run and shares it between steps', async () => {
    computed = 0;
    const { runtime, sent } = fakeRuntime(targets);
    expect((await runPlan(runtime, memoPlan, {}, { tasks })).status).toBe('success');
    expect(computed).toBe(1);
    expect(sent).toEqual([{ target: 'p', command: 'touch /tmp/for-r' }]);
  });

  it('recomputes what a skipped step would have stored when resumed with --from', async () => {
    computed = 0;
    const { runtime, sent } = fakeRuntime(targets);
    const result = await runPlan(runtime, memoPlan, {}, { tasks, from: 'use' });
    expect(result.steps.map((s) => s.status)).toEqual(['skipped', 'success']);
    expect(computed).toBe(1);
    expect(sent).toEqual([{ target: 'p', command: 'touch /tmp/for-r' }]);
  });

  it('takes a value a step set instead of computing it', async () => {
    computed = 0;
    const setter = definePlan({
      ...memoPlan,
      steps: [
        { name: 'discover', description: '', run: (ctx) => Promise.resolve(ctx.memo.set('replica', 'given')) },
        memoPlan.steps[1]!,
      ],
    });
    const { runtime, sent } = fakeRuntime(targets);
    await runPlan(runtime, setter, {}, { tasks });
    expect(computed).toBe(0);
    expect(sent).toEqual([{ target: 'p', command: 'touch /tmp/for-given' }]);
  });

  it('fails the step for an undeclared key, saying how to declare it', async () => {
    const undeclared = definePlan({
      name: 'undeclared',
      description: '',
      params: z.object({}),
      steps: [{ name: 'read', description: '', run: async (ctx) => void (await ctx.memo.get('nope')) }],
    });
    const result = await runPlan(fakeRuntime(targets).runtime, undeclared, {}, { tasks });
    expect(result.steps[0]?.error?.msg).toContain('memo key "nope", which the plan does not declare');
  });
});
