/**
 * `pef plan list|show|run`.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { catalogEntries, findPlan } from '../catalog.js';
import { PefError } from '../../errors/pef-error.js';
import { formatOption, planExitCode, printJson, printText, returning, type ExitSink, type Format } from '../output.js';
import { withRunFlags, type RunFlags } from '../run-flags.js';
import { showDefinition } from './show-definition.js';

/** The `plan` command and its subcommands. */
// Long as a list, not as logic: one commander registration per subcommand, in help order.
export function planCommand(exit: ExitSink): Command {
  const plan = new Command('plan').description(
    'list, show and run plans (setup, sync, failover, promote, failback, status)',
  );

  plan
    .command('list')
    .description('list the plans pef ships')
    .addOption(formatOption())
    .addHelpText('after', '\nExample:\n  $ pef plan list')
    .action(
      returning(exit, async (flags: { format?: Format }) => {
        const { plans } = await catalogEntries();
        if (flags.format === 'json') {
          printJson({ plans });
          return 0;
        }
        const width = Math.max(...plans.map((p) => p.name.length));
        printText(plans.map((p) => `${p.name.padEnd(width)}  ${p.description}`).join('\n'));
        printText("\nRun `pef plan show NAME` for a plan's steps and parameters.");
        return 0;
      }),
    );

  plan
    .command('show')
    .argument('<name>', 'plan name')
    .description("show a plan's steps and parameters")
    .addOption(formatOption())
    .addHelpText('after', '\nExample:\n  $ pef plan show preflight')
    .action(
      returning(exit, async (name: string, flags: { format?: Format }) => {
        const def = await findPlan(name);
        return showDefinition(
          def,
          flags.format,
          { steps: def.steps.map((s) => ({ name: s.name, description: s.description })) },
          (params) =>
            `Steps:\n${def.steps.map((s, i) => `  ${i + 1}. ${s.name} — ${s.description}`).join('\n')}\n\n${params}\n\nUsage: pef plan run ${def.name} -i INVENTORY [--noop] [--from STEP]`,
        );
      }),
    );

  withRunFlags(
    plan
      .command('run')
      .argument('<name>', 'plan name')
      .argument('[params...]', 'parameters as key=value')
      .option(
        '--from <step>',
        'resume: skip the steps before STEP (after a failure, pef prints the step to resume from)',
      )
      .option(
        '-y, --yes',
        'answer the confirmation of switchover, failover, promote and failback (the name of the server that becomes active) in advance',
      )
      .description('run a plan')
      .addHelpText(
        'after',
        '\nExamples:\n  $ pef plan run preflight -i inventory.yaml\n  $ pef plan run setup -i inventory.yaml --noop\n  $ pef plan run setup -i inventory.yaml --from sync_ca\n  $ pef plan run switchover -i inventory.yaml --yes',
      ),
  ).action(
    returning(exit, async (name: string, words: string[], flags: RunFlags & { from?: string; yes?: boolean }) => {
      if (flags.targets !== undefined) {
        throw new PefError(
          'pef/usage-error',
          `pef plan run does not take --targets (-t): plan ${name} picks its targets by vars.role in the inventory. Drop -t, or use pef task run -t to act on chosen targets.`,
          { targets: flags.targets },
        );
      }
      const [{ parseParamWords, validateParams }, { openSession, readParamsFlag }, { formatPlanResult }] =
        await Promise.all([import('../../task/params.js'), import('../session.js'), import('../format.js')]);
      const def = await findPlan(name);
      const raw = parseParamWords(def.params, words, readParamsFlag(flags.params));
      // Validate before anything connects or logs: bad input fails fast, and sensitive values
      // are known to the redactor before the command line reaches the run log.
      validateParams(def.params, raw, { kind: 'plan', name: def.name });
      const session = await openSession(flags);
      try {
        const result = await session.pef.runPlan(def, raw, {
          ...(flags.from === undefined ? {} : { from: flags.from }),
          ...(flags.yes === true ? { yes: true } : {}),
        });
        if (session.format === 'json') printJson(result);
        else printText(formatPlanResult(result));
        return planExitCode(result);
      } finally {
        await session.close();
      }
    }),
  );

  plan
    .command('export')
    .argument('<name>', 'plan name')
    .argument('[params...]', 'parameters as key=value')
    .option('-i, --inventory <file>', 'inventory file; default from the pef config, else inventory.yaml')
    .option('--params <json>', 'parameters as JSON, @file.json, or - for stdin')
    .option('-o, --output <file>', 'write the runbook here (mode 0700) instead of stdout')
    .option('--force', 'replace the --output file if it exists')
    .option('--log-file <file>', 'debug log of the dry run (default .pef/logs/pef-<time>-<pid>.log)')
    .description("write a plan as a bash runbook: its dry run's commands per host, in order, for review")
    .addHelpText(
      'after',
      '\nThe plan runs with --noop to find the commands (its probes read the hosts for real); nothing is changed.\nSee docs/cli.md for what a runbook cannot capture.\n\nExamples:\n  $ pef plan export sync -i inventory.yaml -o sync-runbook.sh\n  $ pef plan export sync -i inventory.yaml | less',
    )
    .action(
      returning(
        exit,
        async (
          name: string,
          words: string[],
          flags: Pick<RunFlags, 'inventory' | 'params' | 'logFile'> & { output?: string; force?: boolean },
        ) => {
          const [
            { parseParamWords, validateParams },
            { openSession, readParamsFlag },
            { writeRunbook, refuseExisting },
          ] = await Promise.all([
            import('../../task/params.js'),
            import('../session.js'),
            import('../runbook-file.js'),
          ]);
          const def = await findPlan(name);
          const raw = parseParamWords(def.params, words, readParamsFlag(flags.params));
          validateParams(def.params, raw, { kind: 'plan', name: def.name });
          if (flags.output !== undefined && flags.force !== true) refuseExisting(flags.output);
          // Progress would mix into a runbook printed on stdout: only with --output is it drawn (on stderr).
          const session = await openSession({
            ...flags,
            noop: true,
            format: flags.output === undefined ? 'json' : 'human',
          });
          try {
            const [{ exportPlan }, { renderRunbook }] = await Promise.all([
              import('../../plan/export-plan.js'),
              import('../../plan/runbook-script.js'),
            ]);
            const doc = await exportPlan(session.pef, def, raw, {
              inventory: resolve(flags.inventory ?? session.config.inventory ?? 'inventory.yaml'),
            });
            await writeRunbook(renderRunbook(doc), flags.output, flags.force === true);
            return 0;
          } finally {
            await session.close();
          }
        },
      ),
    );

  return plan;
}
