// Writes dist/catalog.json: the name, description and steps of every bundled task and plan, so
// `pef task list` and `pef plan list` answer without loading the tasks and their schemas (zod
// alone costs ~70 ms of a cold start). Run by `npm run build` after tsc; the task modules stay
// the one source of truth.
import { writeFileSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
const { TASKS } = await import(new URL('tasks/index.js', dist).href);
const { PLANS } = await import(new URL('plans/index.js', dist).href);
const catalog = {
  tasks: TASKS.map((t) => ({ name: t.name, description: t.description, supports_noop: t.supportsNoop })),
  plans: PLANS.map((p) => ({ name: p.name, description: p.description, steps: p.steps.map((s) => s.name) })),
};
writeFileSync(new URL('catalog.json', dist), `${JSON.stringify(catalog, null, 2)}\n`);
