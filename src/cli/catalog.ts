/**
 * The tasks and plans pef ships (`tasks/index.ts`, `plans/index.ts`), looked up by name with an
 * error that lists what exists.
 */
import { readFileSync } from 'node:fs';
import { PefError } from '../errors/pef-error.js';
import type { PlanDefinition } from '../plan/plan.js';
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
  const tasks = await allTasks();
  const task = tasks.find((t) => t.name === name);
  if (!task)
    throw unknown(
      'task',
      name,
      tasks.map((t) => t.name),
    );
  return task;
}

/** The plan called `name`, or `pef/unknown-plan`. */
export async function findPlan(name: string): Promise<PlanDefinition> {
  const plans = await allPlans();
  const plan = plans.find((p) => p.name === name);
  if (!plan)
    throw unknown(
      'plan',
      name,
      plans.map((p) => p.name),
    );
  return plan;
}

function unknown(kind: 'task' | 'plan', name: string, known: string[]): PefError {
  const near = known.filter((k) => k.includes(name) || name.includes(k));
  return new PefError(
    kind === 'task' ? 'pef/unknown-task' : 'pef/unknown-plan',
    `There is no ${kind} "${name}".${near.length ? ` Did you mean ${near.join(' or ')}?` : ''} Run \`pef ${kind} list\` to see them all.`,
    { [kind]: name, known },
  );
}
