/**
 * The tasks and plans pef ships (`tasks/index.ts`, `plans/index.ts`), looked up by name with an
 * error that lists what exists.
 */
import { readFileSync } from 'node:fs';
import type { PlanDefinition } from '../plan/plan.js';
import { findDefinition } from '../runtime/find-definition.js';
import type { TaskDefinition } from '../task/task.js';

/** What `task list` and `plan list` print, without loading the definitions. */
export interface CatalogEntries {
  tasks: { name: string; description: string; supports_noop: boolean }[];
  plans: { name: string; description: string; steps: string[] }[];
}

/**
 * The list entries: from dist/catalog.json, which `npm run build` writes from the definitions
 * (scripts/gen-catalog.js) so listing skips loading every task and its schemas; from the
 * definitions themselves when there is no build (tests run the sources).
 */
export async function catalogEntries(): Promise<CatalogEntries> {
  try {
    return JSON.parse(readFileSync(new URL('../../catalog.json', import.meta.url), 'utf8')) as CatalogEntries;
  } catch {
    const [tasks, plans] = await Promise.all([allTasks(), allPlans()]);
    return {
      tasks: tasks.map((t) => ({ name: t.name, description: t.description, supports_noop: t.supportsNoop })),
      plans: plans.map((p) => ({ name: p.name, description: p.description, steps: p.steps.map((s) => s.name) })),
    };
  }
}

/** Every bundled task, in list order. */
export async function allTasks(): Promise<readonly TaskDefinition[]> {
  return (await import('../../tasks/index.js')).TASKS;
}

/** Every bundled plan, in list order. */
export async function allPlans(): Promise<readonly PlanDefinition[]> {
  return (await import('../../plans/index.js')).PLANS;
}

/** The task called `name`, or `pef/unknown-task`. */
export async function findTask(name: string): Promise<TaskDefinition> {
  return findDefinition('task', await allTasks(), name);
}

/** The plan called `name`, or `pef/unknown-plan`. */
export async function findPlan(name: string): Promise<PlanDefinition> {
  return findDefinition('plan', await allPlans(), name);
}
