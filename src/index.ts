/**
 * pef as a library (`import { createRuntime } from 'pef'`): the stable surface for runbook
 * scripts, described in docs/runbook-scripts.md. Everything else in the package is internal.
 * Importing this module only defines things: it connects to nothing, prints nothing, installs
 * no signal handler and never exits the process (test/unit/index.test.ts checks that).
 */
export {
  createRuntime,
  type CreateRuntimeOptions,
  type PefRuntime,
  type RunPlanCallOptions,
  type RunTaskCallOptions,
  type RuntimeFormat,
  type TargetSpec,
} from './runtime/create-runtime.js';
export type { TargetSource } from './runtime/runtime.js';
export { defineTask, type ParamsSchema, type TaskContext, type TaskDefinition, type TaskOutcome } from './task/task.js';
export { definePlan, type PlanContext, type PlanDefinition, type PlanStep } from './plan/plan.js';
export type { PlanResult, StepReport } from './plan/run-plan.js';
export type { DataRow, StatusDocument } from './replication/status.js';
export { loadInventory, type LoadInventoryOptions } from './inventory/load-inventory.js';
export type { Inventory } from './inventory/inventory.js';
export type { Role, Target } from './inventory/target.js';
export { PefError, type ErrorData, type ExitCode, type PefErrorKind } from './errors/pef-error.js';
export { ResultSet, type Result, type ResultItem, type ResultSetJson } from './executor/result.js';
export { NonInteractivePrompter, type Prompter } from './interaction/prompter.js';
export { TASKS } from '../tasks/index.js';
export { PLANS } from '../plans/index.js';
export { VERSION } from './version.js';
