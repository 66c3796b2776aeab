/**
 * The pef command line. The only module that calls process.exit: every PefError becomes its
 * exit code (0 ok, 1 usage or config error, 2 a target or step failed) and a message naming the
 * fix; with `--format json`, stdout carries exactly one JSON document, even for errors.
 * Subcommands load lazily; `pef --version` never gets here (bin/pef.js answers it).
 */
import { Command, CommanderError } from 'commander';
import { PefError, toErrorData } from '../errors/pef-error.js';
import { VERSION } from '../version.js';
import { exitCodeFor, wantsJson } from './output.js';

const SUBCOMMANDS = {
  task: async () => (await import('./commands/task.js')).taskCommand(),
  plan: async () => (await import('./commands/plan.js')).planCommand(),
  inventory: async () => (await import('./commands/inventory.js')).inventoryCommand(),
  lab: async () => (await import('./commands/lab.js')).labCommand(),
} satisfies Record<string, () => Promise<Command>>;

async function buildProgram(args: readonly string[]): Promise<Command> {
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
  $ pef lab up && pef inventory show -i .pef-lab/inventory.yaml

Exit codes: 0 ok, 1 usage or config error, 2 a target or step failed (see docs/cli.md).`,
    );
  // Load only the subcommand being run; help and unknown commands need them all.
  const first = args.find((a) => !a.startsWith('-'));
  const names =
    first !== undefined && first in SUBCOMMANDS
      ? [first as keyof typeof SUBCOMMANDS]
      : (Object.keys(SUBCOMMANDS) as (keyof typeof SUBCOMMANDS)[]);
  for (const command of await Promise.all(names.map((name) => SUBCOMMANDS[name]()))) program.addCommand(command);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  // The fast path: no subcommand modules for --version.
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  try {
    const program = await buildProgram(args);
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed help or the usage error.
      return error.exitCode === 0 ? 0 : 1;
    }
    reportError(error, wantsJson(args));
    return exitCodeFor(error);
  }
}

function reportError(error: unknown, json: boolean): void {
  const data = toErrorData(error);
  if (json) {
    process.stdout.write(`${JSON.stringify({ status: 'failure', error: data }, null, 2)}\n`);
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
