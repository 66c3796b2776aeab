/**
 * `pef failover`: the guided wizard (src/cli/wizard.ts). Registration only; everything heavy
 * (the session, inquirer, listr2) loads when the command runs.
 */
import { Command, Option } from 'commander';
import { PefError } from '../../errors/pef-error.js';
import { formatOption, printJson, printText, returning, type ExitSink, type Format } from '../output.js';

/** The flags of `pef failover`. */
interface FailoverFlags {
  inventory?: string;
  mode?: 'switchover' | 'failover';
  yes?: boolean;
  force?: boolean;
  commands?: boolean;
  format?: Format;
  verbose?: boolean;
  logFile?: string;
}

/** The `failover` command. */
export function failoverCommand(exit: ExitSink): Command {
  return new Command('failover')
    .description(
      'guided failover: read both servers, offer a switchover or a failover, confirm, run it with live progress',
    )
    .argument('[confirm...]', 'confirm=NAME: with --force, the name of the server being overridden')
    .option('-i, --inventory <file>', 'inventory file; default from the pef config, else inventory.yaml')
    .addOption(
      new Option('--mode <mode>', 'switchover (both up, RPO 0) or failover (the active server is gone)').choices([
        'switchover',
        'failover',
      ]),
    )
    .option('-y, --yes', 'answer the confirmation (the name of the server that becomes active) in advance')
    .option('--force', 'failover: go on although the old server cannot be proved down or fenced (needs confirm=NAME)')
    .option('--commands', 'print the exact commands per host (a dry run) before the confirmation')
    .addOption(formatOption('human or json (json needs --yes and prints one document)'))
    .option('-v, --verbose', 'show command output as it arrives')
    .option('--log-file <file>', 'debug log of this run (default .pef/logs/pef-<time>-<pid>.log)')
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 not confirmed or a flag missing (nothing changed), 2 a step failed, 130 Ctrl-C.\n\nExamples:\n  $ pef failover -i inventory.yaml\n  $ pef failover -i inventory.yaml --mode failover --yes --format json\n  $ pef failover -i inventory.yaml --mode failover --force confirm=primary-1 --yes',
    )
    .action(
      returning(exit, async (words: string[], flags: FailoverFlags) => {
        const confirm = confirmWord(words);
        const [{ openSession }, { runWizard }, { findPlan }] = await Promise.all([
          import('../session.js'),
          import('../wizard.js'),
          import('../catalog.js'),
        ]);
        const session = await openSession(flags);
        const json = session.format === 'json';
        try {
          const { code, report } = await runWizard(
            {
              pef: session.pef,
              prompter: session.runtime.prompter,
              plan: (name) => findPlan(name),
              say: printText,
              width: process.stdout.columns ?? 80,
            },
            {
              ...(flags.mode === undefined ? {} : { mode: flags.mode }),
              yes: flags.yes === true,
              force: flags.force === true,
              commands: flags.commands === true,
              json,
              ...(confirm === undefined ? {} : { confirm }),
            },
          );
          if (json) printJson(report);
          return code;
        } finally {
          await session.close();
        }
      }),
    );
}

// The one parameter the wizard takes as key=value, as `pef plan run` takes its parameters.
function confirmWord(words: readonly string[]): string | undefined {
  let confirm: string | undefined;
  for (const word of words) {
    const match = /^confirm=(.+)$/.exec(word);
    if (!match)
      throw new PefError('pef/usage-error', `pef failover takes only confirm=NAME (with --force), not "${word}".`, {
        word,
      });
    confirm = match[1];
  }
  return confirm;
}
