/**
 * Runs tasks and plans against a real inventory (the lab's) the way the CLI does, through
 * createRuntime: real inventory, real ssh pool, a run log whose file the test can grep for secrets.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, type RunEvent } from '../../src/executor/events.js';
import type { ResultSet } from '../../src/executor/result.js';
import { NonInteractivePrompter } from '../../src/interaction/prompter.js';
import { loadInventory } from '../../src/inventory/load-inventory.js';
import type { Inventory } from '../../src/inventory/inventory.js';
import type { PlanDefinition } from '../../src/plan/plan.js';
import type { PlanResult } from '../../src/plan/run-plan.js';
import { createRuntime } from '../../src/runtime/create-runtime.js';
import type { ParamsSchema, TaskDefinition } from '../../src/task/task.js';

/** A runner bound to one inventory; close it in afterAll (which also removes its run log). */
export interface TaskRunner {
  inventory: Inventory;
  events: RunEvent[];
  logFile: string;
  /** Runs a task on the named targets (names, aliases, groups), live or in noop. */
  task<S extends ParamsSchema>(
    task: TaskDefinition<S>,
    targets: string,
    params?: Record<string, unknown>,
    options?: { noop?: boolean },
  ): Promise<ResultSet>;
  plan(
    plan: PlanDefinition,
    params?: Record<string, unknown>,
    options?: { noop?: boolean; from?: string },
  ): Promise<PlanResult>;
  /** Everything the run log holds so far. */
  log(): string;
  close(): Promise<void>;
}

/** Opens a runner on `inventoryFile`. Connections are shared by every call, as in one CLI run. */
export async function taskRunner(inventoryFile: string): Promise<TaskRunner> {
  const inventory = await loadInventory(inventoryFile, { prompter: new NonInteractivePrompter() });
  const logDir = mkdtempSync(join(tmpdir(), 'pef-runlog-'));
  const logFile = join(logDir, 'run.log');
  const events: RunEvent[] = [];
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  const pef = createRuntime(
    { inventory, format: 'json', logFile, prompter: new NonInteractivePrompter() },
    { events: bus },
  );
  return {
    inventory,
    events,
    logFile,
    task: (task, targets, params = {}, options = {}) =>
      pef.runTask(task, targets, params, { noop: options.noop ?? false }),
    plan: (plan, params = {}, options = {}) =>
      pef.runPlan(plan, params, {
        noop: options.noop ?? false,
        ...(options.from === undefined ? {} : { from: options.from }),
      }),
    log: () => readFileSync(logFile, 'utf8'),
    close: async () => {
      await pef.close();
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
