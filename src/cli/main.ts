/**
 * The pef command line. The only module that calls process.exit: every PefError becomes its
 * exit code (0 ok, 1 usage or config error, 2 a target or step failed, 130 interrupted) and a
 * message naming the fix; with `--format json`, stdout carries exactly one JSON document, even for
 * errors. Ctrl-C and SIGTERM cancel the run (src/cli/interrupt.ts).
 * Subcommands load lazily; `pef --version` never gets here (bin/pef.js answers it).
 */
import { Command, CommanderError } from 'commander';
import { PefError, toErrorData } from '../errors/pef-error.js';
import { VERSION } from '../version.js';
import { INTERRUPTED_EXIT, installInterruptHandlers, runCancellation } from './interrupt.js';
import { exitCodeFor, printJson, wantsJson, type ExitSink } from './output.js';

// Each command action returns its exit code through `exit`; main() alone turns it into the process's.
const SUBCOMMANDS = {
  task: async (exit) => (await import('./commands/task.js')).taskCommand(exit),
  plan: async (exit) => (await import('./commands/plan.js')).planCommand(exit),
  inventory: async (exit) => (await import('./commands/inventory.js')).inventoryCommand(exit),
  lab: async (exit) => (await import('./commands/lab.js')).labCommand(exit),
  status: async (exit) => (await import('./commands/status.js')).statusCommand(exit),
  failover: async (exit) => (await import('./commands/failover.js')).failoverCommand(exit),
} satisfies Record<string, (exit: ExitSink) => Promise<Command>>;

async function buildProgram(args: readonly string[], exit: ExitSink): Promise<Command> {
  const program = new Command('pef')
    .description('Keep a Puppet primary survivable: warm spare, sync, failover, promotion and failback.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ pef task list
  $ pef task run check_connection -t all -i inventory.yaml
  $ pef plan run setup -i inventory.yaml --noop
  $ pef status -i inventory.yaml
  $ pef failover -i inventory.yaml            (guided switchover / failover)
  $ pef lab up && pef inventory show -i .pef-lab/inventory.yaml

Exit codes: 0 ok, 1 usage or config error, 2 a target or step failed (see docs/cli.md).`,
    );
  // Load only the subcommand being run; help and unknown commands need them all.
  const first = args.find((a) => !a.startsWith('-'));
  const names =
    first !== undefined && first in SUBCOMMANDS
      ? [first as keyof typeof SUBCOMMANDS]
      : (Object.keys(SUBCOMMANDS) as (keyof typeof SUBCOMMANDS)[]);
  for (const command of await Promise.all(names.map((name) => SUBCOMMANDS[name](exit)))) program.addCommand(command);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  installInterruptHandlers(
    (text) => process.stderr.write(text),
    (code) => process.exit(code),
  );
  try {
    let code = 0;
    const program = await buildProgram(args, (c) => (code = c));
    await program.parseAsync(argv);
    return interrupted() ?? code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed help or the usage error.
      return error.exitCode === 0 ? 0 : 1;
    }
    reportError(error, wantsJson(args));
    return interrupted() ?? exitCodeFor(error);
  }
}

// An interrupted run exits 130 whatever its results say; they were printed, host by host, above.
function interrupted(): number | undefined {
  if (!runCancellation.cancelled) return undefined;
  process.stderr.write(
    `Interrupted (${runCancellation.reason}): no further command was started; the results above give each host's state.\n`,
  );
  return INTERRUPTED_EXIT;
}

function reportError(error: unknown, json: boolean): void {
  const data = toErrorData(error);
  if (json) {
    printJson({ status: 'failure', error: data });
    return;
  }
  if (error instanceof PefError) process.stderr.write(`Error: ${error.message}\n`);
  else
    process.stderr.write(
      `Internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
}

// `pef task list | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
