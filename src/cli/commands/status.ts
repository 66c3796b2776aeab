/**
 * `pef status -i INV`: the status plan, printed as a table (or one JSON document with --format
 * json). Exit 0 when the pair is healthy, 2 when it is not, 1 for a usage or inventory error.
 */
import { Command, Option } from 'commander';
import { PefError, type PefErrorKind } from '../../errors/pef-error.js';
import type { StatusDocument } from '../../replication/status.js';
import { formatOption, printJson, printText, returning, type ExitSink } from '../output.js';
import type { RunFlags } from '../run-flags.js';

/** The `status` command. */
export function statusCommand(exit: ExitSink): Command {
  return new Command('status')
    .description('replication status of the primary and replica: active server, each data kind, problems')
    .option(
      '-i, --inventory <file>',
      'inventory file (Bolt inventory v2); default from the pef config, else inventory.yaml',
    )
    .addOption(formatOption('human (a table) or json (one document on stdout)'))
    .addOption(new Option('-v, --verbose', 'show command output as it arrives'))
    .option('--log-file <file>', 'debug log of this run (default .pef/logs/pef-<time>-<pid>.log)')
    .addHelpText(
      'after',
      '\nExit codes: 0 healthy, 2 not healthy (the problems say why), 1 usage or inventory error.\n\nExamples:\n  $ pef status -i inventory.yaml\n  $ pef status -i inventory.yaml --format json',
    )
    .action(
      returning(exit, async (flags: RunFlags) => {
        const [{ openSession }, { formatStatus }] = await Promise.all([
          import('../session.js'),
          import('../format-status.js'),
        ]);
        const session = await openSession(flags);
        try {
          const result = await session.pef.status();
          const doc = result.value as StatusDocument | undefined;
          if (doc === undefined) {
            // The pair could not even be looked at (e.g. no primary in the inventory): the cause's error.
            const cause = result.error?.details['cause'] as
              { kind: string; msg: string; details: Record<string, unknown> } | undefined;
            throw new PefError(
              (cause?.kind ?? 'pef/plan-failed') as PefErrorKind,
              cause?.msg ?? result.error?.msg ?? 'status failed',
              cause?.details ?? {},
            );
          }
          if (session.format === 'json') printJson(doc);
          else printText(formatStatus(doc));
          return doc.healthy ? 0 : 2;
        } finally {
          await session.close();
        }
      }),
    );
}
