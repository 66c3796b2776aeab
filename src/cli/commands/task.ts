/**
 * `pef task list|show|run`.
 */
import { Command } from 'commander';
import { PefError } from '../../errors/pef-error.js';
import { catalogEntries, findTask } from '../catalog.js';
import { formatOption, printJson, printText, returning, type ExitSink, type Format } from '../output.js';
import { withRunFlags, type RunFlags } from '../run-flags.js';
import { showDefinition } from './show-definition.js';

/** The `task` command and its subcommands. */
// Long as a list, not as logic: one commander registration per subcommand, in help order.
export function taskCommand(exit: ExitSink): Command {
  const task = new Command('task').description('list, show and run tasks');

  task
    .command('list')
    .description('list the tasks pef ships')
    .addOption(formatOption())
    .addHelpText('after', '\nExample:\n  $ pef task list --format json')
    .action(
      returning(exit, async (flags: { format?: Format }) => {
        const { tasks } = await catalogEntries();
        if (flags.format === 'json') {
          printJson({ tasks });
          return 0;
        }
        const width = Math.max(...tasks.map((t) => t.name.length));
        printText(tasks.map((t) => `${t.name.padEnd(width)}  ${t.description}`).join('\n'));
        printText("\nRun `pef task show NAME` for a task's parameters.");
        return 0;
      }),
    );

  task
    .command('show')
    .argument('<name>', 'task name')
    .description("show a task's description and parameters")
    .addOption(formatOption())
    .addHelpText('after', '\nExample:\n  $ pef task show check_connection')
    .action(
      returning(exit, async (name: string, flags: { format?: Format }) => {
        const def = await findTask(name);
        const usage = `pef task run ${def.name} -t TARGETS${Object.keys(def.params.shape).length ? ' [key=value ...]' : ''}`;
        return showDefinition(
          def,
          flags.format,
          { supports_noop: def.supportsNoop },
          (params) => `Supports --noop: ${def.supportsNoop ? 'yes' : 'no'}\n\n${params}\n\nUsage: ${usage}`,
        );
      }),
    );

  withRunFlags(
    task
      .command('run')
      .argument('<name>', 'task name')
      .argument('[params...]', 'parameters as key=value')
      .description('run a task on targets')
      .addHelpText(
        'after',
        '\nExamples:\n  $ pef task run check_connection -t all -i inventory.yaml\n  $ pef task run pad_serial -t primary minimum=0x186A0 --noop --format json',
      ),
  ).action(
    returning(exit, async (name: string, words: string[], flags: RunFlags) => {
      // Loaded here, not at the top: `pef task list` must not pay for them.
      const [{ parseParamWords, validateParams }, { openSession, readParamsFlag }, { formatResultSet }] =
        await Promise.all([import('../../task/params.js'), import('../session.js'), import('../format.js')]);
      const def = await findTask(name);
      const raw = parseParamWords(def.params, words, readParamsFlag(flags.params));
      // Validate before anything connects or logs: bad input fails fast, and sensitive values
      // are known to the redactor before the command line reaches the run log.
      validateParams(def.params, raw, { kind: 'task', name: def.name });
      const session = await openSession(flags);
      try {
        const results = await session.pef.runTask(def, requireTargets(flags), raw);
        if (session.format === 'json') printJson(results.toJSON());
        else printText(formatResultSet(results, session.pef.noop));
        return results.ok ? 0 : 2;
      } finally {
        await session.close();
      }
    }),
  );

  return task;
}

/** `--targets` is required for task runs; plans choose targets by role. */
function requireTargets(flags: RunFlags): string {
  if (flags.targets === undefined || flags.targets.trim() === '') {
    throw new PefError(
      'pef/usage-error',
      'pef task run needs --targets (-t): target names, groups, aliases, globs, or "all".',
    );
  }
  return flags.targets;
}
