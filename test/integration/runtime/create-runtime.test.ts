/**
 * The library runtime doing real work: an inventory file with a local target, tasks and plans
 * defined as a runbook script would, run by name and by definition, live and in noop, with the
 * run log written and results in Bolt's JSON shape.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createRuntime, definePlan, defineTask, loadInventory, NonInteractivePrompter } from '../../../src/index.js';
import { shQuote } from '../../../src/util/shell-quote.js';

let dir: string;
let inventoryFile: string;

const touch = defineTask({
  name: 'touch_file',
  description: 'creates a file (test)',
  params: z.object({ path: z.string() }),
  supportsNoop: true,
  async run(ctx) {
    const before = await ctx.read(`test -e ${shQuote(ctx.params.path)} && echo yes || echo no`);
    if (before.stdout.trim() === 'yes') return { changed: false, value: { existed: true } };
    await ctx.change(`touch ${shQuote(ctx.params.path)}`);
    return { changed: true, value: { existed: false } };
  },
});

const touchPlan = definePlan({
  name: 'touch_plan',
  description: 'touches a file on the primary (test)',
  params: z.object({ path: z.string() }),
  steps: [
    {
      name: 'touch',
      description: 'touch it',
      run: async (ctx) => {
        await ctx.runTask(touch, await ctx.targets('primary'), { path: ctx.params.path });
      },
    },
  ],
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pef-lib-'));
  inventoryFile = join(dir, 'inventory.yaml');
  writeFileSync(
    inventoryFile,
    'targets:\n  - name: here\n    config: { transport: local }\n    vars: { role: primary }\n',
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('createRuntime against a local target', () => {
  it('runs a task by name and by definition, noop per call, and logs every command', async () => {
    const path = join(dir, 'task-made');
    const logFile = join(dir, 'run.log');
    const pef = createRuntime({
      inventory: inventoryFile,
      format: 'json',
      logFile,
      prompter: new NonInteractivePrompter(),
      tasks: [touch],
    });
    try {
      const preview = await pef.runTask('touch_file', 'here', { path }, { noop: true });
      expect(existsSync(path)).toBe(false);
      expect(preview.toJSON().items).toEqual([
        expect.objectContaining({
          target: 'here',
          action: 'task',
          object: 'touch_file',
          status: 'success',
          changed: true,
          _noop: true,
          _would_run: [`touch ${shQuote(path)}`],
        }),
      ]);

      const live = await pef.runTask(touch, ['here'], { path });
      expect(live.ok).toBe(true);
      expect(existsSync(path)).toBe(true);
      const again = await pef.runTask(touch, await pef.targets('all'), { path });
      expect(again.find('here')).toMatchObject({ changed: false, value: { existed: true } });

      const bad = await pef.runTask(touch, 'here', {}).catch((e: unknown) => e);
      expect(bad).toMatchObject({ kind: 'pef/param-error' });
    } finally {
      await pef.close();
    }
    expect(readFileSync(logFile, 'utf8')).toContain(`touch ${shQuote(path)}`);
  });

  it('runs a plan by name from a loaded Inventory, in noop then live, and reconnects after close', async () => {
    const path = join(dir, 'plan-made');
    const inventory = await loadInventory(inventoryFile, { prompter: new NonInteractivePrompter() });
    const pef = createRuntime({ inventory, format: 'json', noop: true, plans: [touchPlan], tasks: [touch] });
    try {
      const dry = await pef.runPlan('touch_plan', { path });
      expect(dry).toMatchObject({ plan: 'touch_plan', status: 'success', noop: true, changed: 1 });
      expect(existsSync(path)).toBe(false);
      await pef.close();
      const real = await pef.runPlan(touchPlan, { path }, { noop: false });
      expect(real).toMatchObject({ status: 'success', noop: false, changed: 1 });
      expect(existsSync(path)).toBe(true);
    } finally {
      await pef.close();
    }
  });

  it('reads the inventory file on first use: a missing file fails the call, not createRuntime', async () => {
    const pef = createRuntime({ inventory: join(dir, 'missing.yaml'), format: 'json' });
    await expect(pef.targets('all')).rejects.toMatchObject({ kind: 'pef/file-error' });
    await pef.close();
  });

  it('draws human progress for the call and detaches before it returns', async () => {
    const lines: string[] = [];
    const pef = createRuntime(
      { inventory: inventoryFile, prompter: new NonInteractivePrompter() },
      { tty: false, write: (t) => lines.push(t) },
    );
    try {
      await pef.runTask(touch, 'here', { path: join(dir, 'drawn') });
      const drawn = lines.length;
      expect(lines.join('')).toContain('here');
      // Detached once the call returned: later events are not drawn.
      pef.core.events.emit({ type: 'message', text: 'after the call' });
      expect(lines.length).toBe(drawn);
    } finally {
      await pef.close();
    }
  });
});
