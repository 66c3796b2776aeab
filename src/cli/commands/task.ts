/**
 * `pef task list|show|run`.
 */
import { Command } from 'commander';
import { PefError } from '../../errors/pef-error.js';
import { describeParams, parseParamWords } from '../../task/params.js';
import { runTask } from '../../task/run-task.js';
import { allTasks, findTask } from '../catalog.js';
import { printJson, printText } from '../output.js';
import { formatParams, formatResultSet } from '../format.js';
import { openSession, readParamsFlag, withRunFlags, type RunFlags } from '../session.js';

/** The `task` command and its subcommands. */
export function taskCommand(): Command {
  const task = new Command('task').description('list, show and run tasks');

  task
    .command('list')
    .description('list the tasks pef ships')
    .option('--format <format>', 'human or json')
    .addHelpText('after', '\nExample:\n  $ pef task list --format json')
    .action(async (flags: { format?: string }) => {
      const tasks = await allTasks();
      if (flags.format === 'json') {
        printJson({ tasks: tasks.map((t) => ({ name: t.name, description: t.description, supports_noop: t.supportsNoop })) });
        return;
      }
      const width = Math.max(...tasks.map((t) => t.name.length));
      printText(tasks.map((t) => `${t.name.padEnd(width)}  ${t.description}`).join('\n'));
      printText('\nRun `pef task show NAME` for a task\'s parameters.');
    });

  task
    .command('show')
    .argument('<name>', 'task name')
    .description("show a task's description and parameters")
    .option('--format <format>', 'human or json')
    .addHelpText('after', '\nExample:\n  $ pef task show check_connection')
    .action(async (name: string, flags: { format?: string }) => {
      const def = await findTask(name);
      const params = describeParams(def.params);
      if (flags.format === 'json') {
        printJson({ name: def.name, description: def.description, details: def.details ?? '', supports_noop: def.supportsNoop, parameters: params });
        return;
      }
      printText(`${def.name} — ${def.description}${def.details ? `\n\n${def.details.trim()}` : ''}\n\nSupports --noop: ${def.supportsNoop ? 'yes' : 'no'}\n\n${formatParams(params)}\n\nUsage: pef task run ${def.name} -t TARGETS${params.length ? ' [key=value ...]' : ''}`);
    });

  withRunFlags(
    task
      .command('run')
      .argument('<name>', 'task name')
      .argument('[params...]', 'parameters as key=value')
      .description('run a task on targets')
      .addHelpText('after', '\nExamples:\n  $ pef task run check_connection -t all -i inventory.yaml\n  $ pef task run pad_serial -t primary minimum=0x186A0 --noop --format json'),
  ).action(async (name: string, words: string[], flags: RunFlags) => {
    const def = await findTask(name);
    const raw = parseParamWords(def.params, words, readParamsFlag(flags.params));
    const session = await openSession(flags);
    try {
      const targets = await session.inventory.resolve(requireTargets(flags));
      const results = await runTask(session.runtime, def, targets, raw);
      await session.renderer.stop();
      if (session.format === 'json') printJson(results.toJSON());
      else printText(formatResultSet(results, session.runtime.noop));
      if (!results.ok) process.exitCode = 2;
    } finally {
      await session.close();
    }
  });

  return task;
}

/** `--targets` is required for task runs; plans choose targets by role. */
function requireTargets(flags: RunFlags): string {
  if (flags.targets === undefined || flags.targets.trim() === '') {
    throw new PefError('pef/usage-error', 'pef task run needs --targets (-t): target names, groups, aliases, globs, or "all".');
  }
  return flags.targets;
}
