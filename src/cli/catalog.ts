/**
 * The tasks and plans pef ships (`tasks/index.ts`, `plans/index.ts`), looked up by name with an
 * error that lists what exists.
 */
import { PefError } from '../errors/pef-error.js';
import type { PlanDefinition } from '../plan/plan.js';
import type { TaskDefinition } from '../task/task.js';

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
  if (!task) throw unknown('task', name, tasks.map((t) => t.name));
  return task;
}

/** The plan called `name`, or `pef/unknown-plan`. */
export async function findPlan(name: string): Promise<PlanDefinition> {
  const plans = await allPlans();
  const plan = plans.find((p) => p.name === name);
  if (!plan) throw unknown('plan', name, plans.map((p) => p.name));
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
