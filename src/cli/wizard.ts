/**
 * `pef failover`, the guided wizard, for the operator at 3 a.m.: read both servers (the status
 * plan), say what the situation is (src/workflow/wizard-situation.ts) and what will happen (the
 * plan's steps, the exact commands on request, the RPO at stake), confirm once by typing the name
 * of the server that becomes active (confirmActive, the plans' own confirmation), then run the
 * switchover or failover plan with live progress and end with the result and the next steps.
 *
 * The wizard decides nothing the plans do not check again: it picks a plan and its `to=`; the plan
 * re-measures before its first change and refuses a partition, a blocked spare, an unequal copy.
 * Every question has a flag (--mode, --yes, --force with confirm=NAME), so `--yes --format json`
 * runs the same flow unattended. Dependencies (runtime, prompter, output) are injected, so the
 * tests drive this through a real terminal with hosts answered in memory.
 */
import { PefError } from '../errors/pef-error.js';
import type { Prompter } from '../interaction/prompter.js';
import type { PlanDefinition } from '../plan/plan.js';
import type { PlanResult } from '../plan/run-plan.js';
import type { StatusDocument } from '../replication/status.js';
import { duration } from '../replication/status-jobs.js';
import type { PefRuntime } from '../runtime/create-runtime.js';
import { confirmActive } from '../workflow/confirm-active.js';
import { assessSituation, type Situation, type WizardMode } from '../workflow/wizard-situation.js';
import { formatPlanResult } from './format.js';
import { cut, formatSituation, wrap } from './format-situation.js';
import { planExitCode } from './output.js';

/** The wizard's answers given as flags. */
export interface WizardFlags {
  mode?: WizardMode;
  yes?: boolean;
  force?: boolean;
  /** With --force: the name of the server being overridden (confirm=NAME). */
  confirm?: string;
  /** Print the exact commands per host (a dry run) before confirming. */
  commands?: boolean;
  json?: boolean;
}

/** What the wizard works with. */
export interface WizardDeps {
  pef: PefRuntime;
  prompter: Prompter;
  /** Finds the switchover or failover plan (the bundled catalog in the CLI). */
  plan(name: WizardMode): Promise<PlanDefinition>;
  /** Human text (nothing is written with json). */
  say(text: string): void;
  /** The terminal's width, for wrapping. */
  width: number;
}

/** What `--format json` prints: the situation read and the plan's result. */
export interface WizardReport {
  situation: Situation;
  mode: WizardMode;
  status: StatusDocument;
  result: PlanResult;
  next_steps: string[];
}

/** Runs the wizard; resolves to the exit code and the report (printed by the caller with json). */
export async function runWizard(deps: WizardDeps, flags: WizardFlags): Promise<{ code: number; report: WizardReport }> {
  const { pef, prompter } = deps;
  const say = (text: string): void => {
    if (flags.json !== true) deps.say(text);
  };
  // Refuse before reading anything: a script that forgot --yes learns it at once, not after probes.
  if (flags.yes !== true && (!prompter.interactive || flags.json === true))
    throw new PefError(
      'pef/non-interactive',
      flags.json === true
        ? 'pef failover --format json runs unattended: pass --yes (and --mode switchover|failover to choose the plan)'
        : 'pef failover asks for confirmation but stdin is not a terminal; pass --yes (and --mode switchover|failover to choose the plan)',
      { instead: '--yes' },
    );
  if (flags.force === true && flags.mode === 'switchover')
    throw new PefError(
      'pef/usage-error',
      '--force applies to a failover only (a switchover never overrides a server).',
    );

  say('Reading both servers (probe_status; nothing is changed)…');
  const doc = await readStatus(pef);
  const servers = Object.keys(doc.modes) as [string, string];
  const situation = assessSituation(doc, servers);
  say(`\n${formatSituation(doc, situation, deps.width)}`);
  if (situation.offer === 'blocked' || situation.spare === null || situation.active === null)
    throw new PefError(
      'pef/task-failed',
      `Nothing can be made active: ${situation.reason.replace(/\.$/, '')}. Nothing was changed.`,
      {
        situation,
      },
    );
  const { spare, active } = situation;

  const mode = await chooseMode(prompter, situation, flags.mode, say, deps.width);
  if (flags.force === true) await confirmOverride(prompter, active, flags.confirm);
  const def = await deps.plan(mode);
  const params = { to: spare, ...(flags.force === true ? { force: true } : {}) };

  say(
    `\n${wrap(`${mode === 'switchover' ? 'Switchover' : 'Failover'}: ${active} → ${spare}. Steps (\`pef plan show ${mode}\`):`, deps.width)}`,
  );
  say(
    def.steps
      .map((s, i) => cut(`${String(i + 1).padStart(2)}. ${s.name}: ${s.description}`, deps.width - 1))
      .join('\n'),
  );
  say(wrap(rpoLine(mode, situation), deps.width));

  if (flags.commands === true || (flags.yes !== true && (await askCommands(prompter)))) {
    const dry = await pef.runPlan(def, params, { noop: true, yes: true });
    say(formatPlanResult(dry));
    if (dry.status !== 'success') say('The dry run stopped: a real run would stop there too.');
  }

  await confirmActive({ noop: false, yes: flags.yes === true, prompter, log: say }, spare);
  const result = await pef.runPlan(def, params, { yes: true });
  const next = nextSteps(mode, result, active, spare);
  say(`\n${formatPlanResult(result)}`);
  say(`\nNext:\n${next.map((n) => wrap(`- ${n}`, deps.width)).join('\n')}`);
  return { code: planExitCode(result), report: { situation, mode, status: doc, result, next_steps: next } };
}

async function readStatus(pef: PefRuntime): Promise<StatusDocument> {
  const read = await pef.status();
  const doc = read.value as StatusDocument | undefined;
  if (doc !== undefined) return doc;
  // The pair could not be looked at at all (e.g. the inventory has no primary): the plan's error.
  const cause = read.error?.details['cause'] as { msg?: string } | undefined;
  throw new PefError('pef/plan-failed', cause?.msg ?? read.error?.msg ?? 'the status plan gave no document', {});
}

async function chooseMode(
  prompter: Prompter,
  situation: Situation,
  asked: WizardMode | undefined,
  say: (text: string) => void,
  width: number,
): Promise<WizardMode> {
  if (asked !== undefined) {
    if (situation.offer !== 'ask' && asked !== situation.offer)
      say(wrap(`--mode ${asked}: the situation suggests a ${situation.offer}; the plan's checks decide.`, width));
    return asked;
  }
  if (situation.offer === 'switchover' || situation.offer === 'failover') return situation.offer;
  return prompter.select<WizardMode>({
    message: `${situation.active ?? 'The active server'} is up but not healthy. What now?`,
    instead: '--mode switchover|failover',
    choices: [
      {
        value: 'switchover',
        name: 'switchover',
        description: 'planned: final sync and verification first (RPO 0); needs it to answer',
      },
      {
        value: 'failover',
        name: 'failover',
        description: 'fence it and promote the spare now; what the spare lacks is lost',
      },
    ],
  });
}

// --force overrides the plan's refusal of a partition: the operator names the server overridden.
async function confirmOverride(prompter: Prompter, active: string, given: string | undefined): Promise<void> {
  const answer =
    given ??
    (await prompter.input({
      message: `--force: type the name of the server being overridden (${active})`,
      instead: `confirm=${active}`,
    }));
  if (answer.trim() !== active)
    throw new PefError(
      'pef/usage-error',
      `--force needs confirm=${active} (the server being overridden), not "${answer}". Nothing was changed.`,
      { expected: active },
    );
}

async function askCommands(prompter: Prompter): Promise<boolean> {
  return prompter.confirm({
    message: 'Show the exact commands per host first (a dry run)?',
    instead: '--commands',
    default: false,
  });
}

function rpoLine(mode: WizardMode, situation: Situation): string {
  if (mode === 'switchover')
    return 'At stake: nothing (RPO 0). Every kind is synced once more and verified equal before the promotion; if not equal, everything is put back.';
  const rows = situation.stake.map(
    (r) =>
      `${r.kind} ${r.age_s === null ? (r.kind === 'puppetdb' ? 'streamed' : 'unknown') : `${duration(r.age_s)} old`}`,
  );
  return `At stake (the spare's copy, lost if newer on ${situation.active ?? 'the old server'}): ${rows.join(', ') || 'unknown'}.`;
}

function nextSteps(mode: WizardMode, result: PlanResult, active: string, spare: string): string[] {
  if (result.status !== 'success') {
    const failed = result.steps.find((s) => s.status === 'failure');
    return [
      failed
        ? `fix what ${failed.name} reports above, then resume: pef plan run ${mode} to=${spare} --from ${failed.name}`
        : `see the error above; \`pef status\` shows where each server stands`,
    ];
  }
  const value = result.value as { next_steps?: unknown } | undefined;
  const fromPlan = Array.isArray(value?.next_steps) ? value.next_steps.filter((s) => typeof s === 'string') : [];
  return mode === 'switchover'
    ? [
        `\`pef status\` shows ${spare} active, ${active} its spare`,
        'to switch back later: pef failover --mode switchover',
      ]
    : [
        ...fromPlan,
        `when ${active} is back it fences itself (a lower epoch); \`pef status\` shows it`,
        'docs/runbook.md, "After a failover", for promote and failback',
      ];
}
