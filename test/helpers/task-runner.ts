/**
 * Runs tasks and plans against a real inventory (the lab's) the way the CLI does: real
 * inventory, real ssh pool, a run log whose file the test can grep for secrets.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, type RunEvent } from '../../src/executor/events.js';
import type { ResultSet } from '../../src/executor/result.js';
import { NonInteractivePrompter } from '../../src/interaction/prompter.js';
import { loadInventory } from '../../src/inventory/load-inventory.js';
import type { Inventory } from '../../src/inventory/inventory.js';
import { RunLog } from '../../src/log/run-log.js';
import type { PlanDefinition } from '../../src/plan/plan.js';
import { runPlan, taskRegistry, type PlanResult } from '../../src/plan/run-plan.js';
import { TASKS } from '../../tasks/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { runTask } from '../../src/task/run-task.js';
import type { ParamsSchema, TaskDefinition } from '../../src/task/task.js';
import { ConnectionPool } from '../../src/transport/connection-pool.js';
import { transportFor } from '../../src/transport/transports.js';

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
  const log = new RunLog(logFile);
  const events: RunEvent[] = [];
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  const pool = new ConnectionPool(transportFor, {
    onCommand: (e) =>
      log.write('debug', `ran \`${e.command}\` exit=${e.exitCode ?? 'null'} in ${e.durationMs.toFixed(0)}ms`, e.target),
  });
  const runtimeFor = (noop: boolean) =>
    new Runtime({
      targets: inventory,
      connections: pool,
      events: bus,
      log,
      prompter: new NonInteractivePrompter(),
      noop,
    });
  return {
    inventory,
    events,
    logFile,
    task: async (task, targets, params = {}, options = {}) =>
      runTask(runtimeFor(options.noop ?? false), task, await inventory.resolve(targets), params),
    plan: async (plan, params = {}, options = {}) =>
      runPlan(runtimeFor(options.noop ?? false), plan, params, {
        tasks: taskRegistry(TASKS),
        ...(options.from === undefined ? {} : { from: options.from }),
      }),
    log: () => readFileSync(logFile, 'utf8'),
    close: async () => {
      await pool.closeAll();
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
