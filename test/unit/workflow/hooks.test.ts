import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { RunLog } from '../../../src/log/run-log.js';
import { definePlan } from '../../../src/plan/plan.js';
import { runPlan, taskRegistry } from '../../../src/plan/run-plan.js';
import { defineTask } from '../../../src/task/task.js';
import { registerSecret } from '../../../src/util/sensitive.js';
import { shQuote } from '../../../src/util/shell-quote.js';
import { normaliseHooks, type HooksConfig } from '../../../src/workflow/hooks-config.js';
import type { HookOutcome } from '../../../src/workflow/hooks.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

const touch = defineTask({
  name: 'touch',
  description: '',
  params: z.object({}),
  supportsNoop: true,
  async run(ctx) {
    await ctx.change('touch /etc/promoted');
    return { changed: true };
  },
});

const targets = [fakeTarget('old.lab', { role: 'primary' }), fakeTarget('new.lab', { role: 'replica' })];

// A tiny failover-shaped plan: the before hook, the change, the after hook (its outcome returned).
const drill = definePlan({
  name: 'drill',
  description: '',
  params: z.object({}),
  steps: [
    {
      name: 'check',
      description: 'before hook',
      run: async (ctx) => {
        await ctx.runHook('before-failover', { PEF_ACTIVE: 'new.lab', PEF_PREVIOUS: 'old.lab' });
      },
    },
    {
      name: 'promote',
      description: 'the change',
      run: async (ctx) => {
        await ctx.runTask(touch, await ctx.targets('replica'));
      },
    },
    {
      name: 'announce',
      description: 'after hook',
      run: async (ctx) => {
        ctx.returns(await ctx.runHook('after-failover', { PEF_ACTIVE: 'new.lab', PEF_PREVIOUS: 'old.lab' }));
      },
    },
  ],
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pef-hooks-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(hooks: HooksConfig, options: { noop?: boolean; cwd?: string } = {}) {
  const log = new RunLog(join(dir, 'run.log'));
  const fake = fakeRuntime(targets, () => ({}), {
    noop: options.noop ?? false,
    log,
    hooks: { commands: hooks, file: '/etc/pef/pef.config.yaml', ...(options.cwd ? { cwd: options.cwd } : {}) },
  });
  return { ...fake, result: runPlan(fake.runtime, drill, {}, { tasks: taskRegistry([touch]) }) };
}

const envOf = (file: string): Map<string, string> =>
  new Map(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('hooks', () => {
  it('run at their points with the roles in PEF_ variables and nothing else of pef’s environment', async () => {
    process.env['PEF_TEST_HOOK_TOKEN'] = 'not-for-hooks';
    const home = process.env['HOME'];
    try {
      const { result, sent } = run(
        normaliseHooks({
          'before-failover': `env > ${shQuote(join(dir, 'before.env'))}`,
          'after-failover': [
            `env > ${shQuote(join(dir, 'after.env'))}`,
            `echo second >> ${shQuote(join(dir, 'order'))}`,
          ],
        }),
      );
      const plan = await result;
      expect(plan.status).toBe('success');
      const before = envOf(join(dir, 'before.env'));
      expect(Object.fromEntries([...before].filter(([k]) => k.startsWith('PEF_')))).toEqual({
        PEF_ACTIVE: 'new.lab',
        PEF_PREVIOUS: 'old.lab',
        PEF_PLAN: 'drill',
        PEF_HOOK: 'before-failover',
      });
      expect(before.get('PATH')).toBe(process.env['PATH']);
      expect(before.get('HOME')).toBe(home);
      // sh adds PWD, SHLVL and _ itself; everything else must come from the allowlist.
      const allowed = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL']);
      expect(
        [...before.keys()].filter(
          (k) => !k.startsWith('PEF_') && !allowed.has(k) && !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(k),
        ),
      ).toEqual([]);
      expect(envOf(join(dir, 'after.env')).get('PEF_HOOK')).toBe('after-failover');
      expect(readFileSync(join(dir, 'order'), 'utf8')).toBe('second\n');
      expect(sent).toEqual([{ target: 'new.lab', command: 'touch /etc/promoted' }]);
      expect(plan.value).toMatchObject({ point: 'after-failover', ok: true, ran: expect.any(Array) });
    } finally {
      delete process.env['PEF_TEST_HOOK_TOKEN'];
    }
  });

  it('a failing before- hook stops the plan before anything changed, naming the hook', async () => {
    const { result, sent } = run(normaliseHooks({ 'before-failover': 'echo "dns api down" >&2; exit 3' }));
    const plan = await result;
    expect(plan.status).toBe('failure');
    expect(plan.steps.map((s) => s.status)).toEqual(['failure', 'not-run', 'not-run']);
    expect(plan.steps[0]?.error).toMatchObject({ kind: 'pef/hook-failed' });
    expect(plan.steps[0]?.error?.msg).toContain('exited with 3: dns api down');
    expect(plan.steps[0]?.error?.msg).toContain('/etc/pef/pef.config.yaml');
    expect(sent).toEqual([]);
  });

  it('a failing after- hook is reported, and the plan (whose change is done) is not failed by it', async () => {
    const marker = join(dir, 'not-reached');
    const { result, events } = run(normaliseHooks({ 'after-failover': ['false', `touch ${shQuote(marker)}`] }));
    const plan = await result;
    expect(plan.status).toBe('success');
    expect(plan.value as HookOutcome).toMatchObject({
      ok: false,
      ran: [],
      error: 'hook after-failover `false` exited with 1',
    });
    expect(existsSync(marker)).toBe(false);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'message', text: expect.stringContaining('The failover itself is done') }),
    );
  });

  it('writes the hook’s output to the run log, with secrets it knows of scrubbed', async () => {
    registerSecret('s3cr3t-hook-value');
    const { result } = run(normaliseHooks({ 'after-failover': 'echo hello from hook; echo s3cr3t-hook-value >&2' }));
    await result;
    const log = readFileSync(join(dir, 'run.log'), 'utf8');
    expect(log).toMatch(/INFO {2}\[controller\] hook after-failover: hello from hook/);
    expect(log).toMatch(/WARN {2}\[controller\] hook after-failover: \[sensitive\]/);
    expect(log).not.toContain('s3cr3t-hook-value');
  });

  it('stops a hook (and what it started) at its timeout', async () => {
    const late = join(dir, 'late');
    const started = performance.now();
    const { result } = run({
      'before-failover': [{ command: `(sleep 1; touch ${shQuote(late)}) & wait`, timeoutMs: 200 }],
    });
    const plan = await result;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(plan.steps[0]?.error?.msg).toContain('did not finish within 0.2 s and was stopped');
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(late)).toBe(false);
  });

  it('runs nothing in noop mode and records each command with its environment', async () => {
    const file = join(dir, 'ran');
    const { result, events, sent } = run(normaliseHooks({ 'before-failover': `touch ${shQuote(file)}` }), {
      noop: true,
    });
    expect((await result).status).toBe('success');
    expect(existsSync(file)).toBe(false);
    expect(sent).toEqual([]);
    expect(events).toContainEqual({
      type: 'noop-command',
      target: 'controller',
      command: `touch ${shQuote(file)}`,
      local: true,
      env: { PEF_ACTIVE: 'new.lab', PEF_PREVIOUS: 'old.lab', PEF_HOOK: 'before-failover', PEF_PLAN: 'drill' },
    });
  });

  it('starts in the config file’s directory', async () => {
    const { result } = run(normaliseHooks({ 'after-failover': 'pwd > where' }), { cwd: dir });
    await result;
    expect(readFileSync(join(dir, 'where'), 'utf8').trim()).toBe(dir);
  });

  it('refuses to hand a hook a secret or a variable outside PEF_', async () => {
    registerSecret('hunter2-the-password');
    const leaky = definePlan({
      name: 'leaky',
      description: '',
      params: z.object({ name: z.string() }),
      steps: [
        {
          name: 'hook',
          description: '',
          run: async (ctx) => {
            await ctx.runHook('before-switchover', { [ctx.params.name]: 'hunter2-the-password' });
          },
        },
      ],
    });
    const file = join(dir, 'ran');
    const { runtime } = fakeRuntime(targets, () => ({}), {
      hooks: { commands: normaliseHooks({ 'before-switchover': `touch ${shQuote(file)}` }) },
    });
    const secret = await runPlan(runtime, leaky, { name: 'PEF_TOKEN' }, { tasks: taskRegistry([]) });
    expect(secret.steps[0]?.error?.msg).toContain('PEF_TOKEN holds a secret');
    const path = await runPlan(runtime, leaky, { name: 'PATH' }, { tasks: taskRegistry([]) });
    expect(path.steps[0]?.error?.msg).toContain('variable "PATH" is not allowed');
    expect(existsSync(file)).toBe(false);
  });

  it('does nothing at a point without commands', async () => {
    const { result } = run({});
    expect((await result).value).toEqual({ point: 'after-failover', ran: [], ok: true, noop: false });
  });
});
