/**
 * `pef plan export`: a plan as a runbook, captured from a dry run. The plan runs with noop, as
 * `pef plan run --noop` does (one way to get the commands): its probes read the hosts for real,
 * and every command that would change a host is recorded (with its stdin and env) instead of
 * run. This file collects those records step by step, with what the probes found, into a
 * RunbookDocument; src/plan/runbook-script.ts writes it as bash.
 *
 * What a capture cannot hold: commands a task only decides on from the result of an earlier
 * change (a dry run changes nothing, so it never sees that result), input read at run time
 * (`runTimeInput`) and tasks that cannot preview at all. The last two become stops in the
 * script; the first is said in the script's header and in docs/cli.md.
 */
import { PefError } from '../errors/pef-error.js';
import type { NoopCommandEvent, RunEvent } from '../executor/events.js';
import type { Target } from '../inventory/target.js';
import type { PefRuntime } from '../runtime/create-runtime.js';
import { describeParams } from '../task/params.js';
import { redact, Sensitive } from '../util/sensitive.js';
import type { PlanDefinition } from './plan.js';

/**
 * One recorded command, as the dry run's event gave it (on a host over ssh, or on the controller
 * with `local`: a hook); `unsupported` marks a task that cannot preview its commands. A command
 * with `runTimeInput` or `unsupported` becomes a stop in the script.
 */
export type RunbookCommand = Omit<NoopCommandEvent, 'type' | 'preview'> & { kind: 'command'; unsupported?: boolean };

/** What a probe or task reported during the dry run, for a comment. */
export interface RunbookFinding {
  kind: 'finding';
  text: string;
}

/** One step of the plan, as captured. */
export interface RunbookStep {
  name: string;
  description: string;
  entries: (RunbookCommand | RunbookFinding)[];
}

/** Everything the runbook script is written from. */
export interface RunbookDocument {
  plan: string;
  description: string;
  /** The parameters as given, secrets as `[sensitive]`. */
  params: Record<string, unknown>;
  /** Plan parameters that are secrets, by name, with their values (never written: each becomes a variable). */
  secretParams: ReadonlyMap<string, string>;
  inventory: string;
  exportedAt: Date;
  steps: RunbookStep[];
  /** Every target a command goes to, by name. */
  targets: ReadonlyMap<string, Target>;
}

/** Where the export came from, for the header. */
export interface ExportInfo {
  inventory: string;
  now?: Date;
}

/**
 * Dry-runs `plan` through `pef` (its events are read while the plan runs) and returns the
 * captured runbook. Throws `pef/plan-failed` when the dry run fails: a runbook of a plan whose
 * checks fail now would be wrong.
 */
export async function exportPlan(
  pef: PefRuntime,
  plan: PlanDefinition,
  rawParams: Record<string, unknown>,
  info: ExportInfo,
): Promise<RunbookDocument> {
  const steps: RunbookStep[] = [];
  const descriptions = new Map(plan.steps.map((s) => [s.name, s.description]));
  let current: RunbookStep | undefined;
  const add = (entry: RunbookCommand | RunbookFinding): void => {
    if (current === undefined) {
      current = { name: '(before the first step)', description: '', entries: [] };
      steps.push(current);
    }
    current.entries.push(entry);
  };
  const stop = pef.core.events.subscribe((event) => {
    if (event.type === 'step-start') {
      current = { name: event.step, description: descriptions.get(event.step) ?? '', entries: [] };
      steps.push(current);
    } else if (event.type === 'noop-command') add(commandOf(event));
    else if (event.type === 'message')
      add({ kind: 'finding', text: redact(event.target ? `${event.target}: ${event.text}` : event.text) });
    else if (event.type === 'target-finish') add({ kind: 'finding', text: resultLine(event.result) });
  });
  let result;
  try {
    result = await pef.runPlan(plan, rawParams, { noop: true });
  } finally {
    stop();
  }
  if (result.status !== 'success') {
    throw new PefError(
      'pef/plan-failed',
      `The dry run of plan ${plan.name} failed, so no runbook was written: ${result.error?.msg ?? 'unknown failure'}`,
      { plan: plan.name, cause: result.error },
    );
  }
  const names = new Set(
    steps.flatMap((s) => s.entries.flatMap((e) => (e.kind === 'command' && e.local !== true ? [e.target] : []))),
  );
  const targets = new Map<string, Target>();
  for (const name of names) {
    const [target] = await pef.targets(name);
    if (target === undefined)
      throw new PefError(
        'pef/unknown-target',
        `The dry run ran commands on ${name}, which the inventory does not name.`,
        { target: name },
      );
    targets.set(name, target);
  }
  const sensitive = new Set(
    describeParams(plan.params)
      .filter((p) => p.sensitive)
      .map((p) => p.name),
  );
  const secretParams = new Map<string, string>();
  const shown: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rawParams)) {
    const secret =
      value instanceof Sensitive ? (value as Sensitive<unknown>).unwrap() : sensitive.has(name) ? value : undefined;
    if (typeof secret === 'string') secretParams.set(name, secret);
    shown[name] = secret === undefined ? value : '[sensitive]';
  }
  return {
    plan: plan.name,
    description: plan.description,
    params: shown,
    secretParams,
    inventory: info.inventory,
    exportedAt: info.now ?? new Date(),
    steps,
    targets,
  };
}

function commandOf(event: NoopCommandEvent): RunbookCommand {
  const { type: _type, preview, ...recorded } = event;
  return { kind: 'command', ...recorded, ...(preview === 'unsupported' ? { unsupported: true } : {}) };
}

// One line per task result: what it found (its value, short), whether it would change the host.
function resultLine(result: Extract<RunEvent, { type: 'target-finish' }>['result']): string {
  const head = `${result.object} on ${result.target}`;
  if (result.status === 'failure') return redact(`${head}: FAILED: ${result.error?.msg ?? ''}`);
  const value = Object.fromEntries(
    Object.entries((result.value ?? {}) as Record<string, unknown>).filter(([k]) => !k.startsWith('_')),
  );
  const found = Object.keys(value).length === 0 ? '' : ` ${JSON.stringify(value)}`;
  const change = result.changed === undefined ? '' : result.changed ? ' (would change the host)' : ' (no change)';
  const line = redact(`${head}${change}:${found}`).replace(/:$/, '');
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}
