/**
 * `pef plan list|show|run`.
 */
import { Command } from 'commander';
import { runPlan } from '../../plan/run-plan.js';
import { describeParams, parseParamWords } from '../../task/params.js';
import { allPlans, findPlan } from '../catalog.js';
import { formatParams, formatPlanResult } from '../format.js';
import { printJson, printText } from '../output.js';
import { openSession, readParamsFlag, withRunFlags, type RunFlags } from '../session.js';

/** The `plan` command and its subcommands. */
export function planCommand(): Command {
  const plan = new Command('plan').description('list, show and run plans (setup, sync, failover, promote, failback, status)');

  plan
    .command('list')
    .description('list the plans pef ships')
    .option('--format <format>', 'human or json')
    .addHelpText('after', '\nExample:\n  $ pef plan list')
    .action(async (flags: { format?: string }) => {
      const plans = await allPlans();
      if (flags.format === 'json') {
        printJson({ plans: plans.map((p) => ({ name: p.name, description: p.description, steps: p.steps.map((s) => s.name) })) });
        return;
      }
      const width = Math.max(...plans.map((p) => p.name.length));
      printText(plans.map((p) => `${p.name.padEnd(width)}  ${p.description}`).join('\n'));
      printText("\nRun `pef plan show NAME` for a plan's steps and parameters.");
    });

  plan
    .command('show')
    .argument('<name>', 'plan name')
    .description("show a plan's steps and parameters")
    .option('--format <format>', 'human or json')
    .addHelpText('after', '\nExample:\n  $ pef plan show preflight')
    .action(async (name: string, flags: { format?: string }) => {
      const def = await findPlan(name);
      const params = describeParams(def.params);
      if (flags.format === 'json') {
        printJson({ name: def.name, description: def.description, details: def.details ?? '', steps: def.steps.map((s) => ({ name: s.name, description: s.description })), parameters: params });
        return;
      }
      const steps = def.steps.map((s, i) => `  ${i + 1}. ${s.name} — ${s.description}`).join('\n');
      printText(`${def.name} — ${def.description}${def.details ? `\n\n${def.details.trim()}` : ''}\n\nSteps:\n${steps}\n\n${formatParams(params)}\n\nUsage: pef plan run ${def.name} -i INVENTORY [--noop] [--from STEP]`);
    });

  withRunFlags(
    plan
      .command('run')
      .argument('<name>', 'plan name')
      .argument('[params...]', 'parameters as key=value')
      .option('--from <step>', 'resume: skip the steps before STEP (after a failure, pef prints the step to resume from)')
      .description('run a plan')
      .addHelpText('after', '\nExamples:\n  $ pef plan run preflight -i inventory.yaml\n  $ pef plan run setup -i inventory.yaml --noop\n  $ pef plan run setup -i inventory.yaml --from sync-ca'),
  ).action(async (name: string, words: string[], flags: RunFlags & { from?: string }) => {
    const def = await findPlan(name);
    const raw = parseParamWords(def.params, words, readParamsFlag(flags.params));
    const session = await openSession(flags);
    try {
      const result = await runPlan(session.runtime, def, raw, flags.from === undefined ? {} : { from: flags.from });
      await session.renderer.stop();
      if (session.format === 'json') printJson(result);
      else printText(formatPlanResult(result));
      if (result.status !== 'success') process.exitCode = 2;
    } finally {
      await session.close();
    }
  });

  return plan;
}
