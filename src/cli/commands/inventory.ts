/**
 * `pef inventory show`: the targets an inventory defines (or that --targets selects), with their
 * config; secrets print as [sensitive] and are never read, so no environment is needed.
 */
import { Command } from 'commander';
import { formatOption, printJson, printText, returning, type ExitSink, type Format } from '../output.js';
import { openInventory } from '../session.js';

/** The `inventory` command. */
export function inventoryCommand(exit: ExitSink): Command {
  const inventory = new Command('inventory').description('inspect an inventory');
  inventory
    .command('show')
    .description('list targets with their roles, groups and connection settings')
    .option('-i, --inventory <file>', 'inventory file (default inventory.yaml)')
    .option('-t, --targets <names>', 'only these targets (names, groups, aliases, globs, all)', 'all')
    .addOption(formatOption())
    .addHelpText('after', '\nExample:\n  $ pef inventory show -i .pef-lab/inventory.yaml -t primary,replica')
    .action(
      returning(exit, async (flags: { inventory?: string; targets: string; format?: Format }) => {
        const inv = await openInventory(flags.inventory);
        // Showing never needs a secret: plugins are peeked, and what is missing now is a warning.
        const { targets, warnings: missing } = await inv.show(flags.targets);
        const warnings = [...inv.warnings, ...missing];
        const rows = targets.map((t) => ({
          name: t.name,
          role: (t.vars['role'] as string | undefined) ?? '',
          transport: t.config.transport,
          address:
            t.config.transport === 'ssh' ? `${t.config.ssh.user}@${t.config.ssh.host}:${t.config.ssh.port}` : 'local',
          groups: t.groups,
          aliases: t.aliases,
          run_as: t.config.ssh.runAs ?? '',
          host_key_check: t.config.ssh.hostKeyCheck,
        }));
        if (flags.format === 'json') {
          printJson({
            inventory: inv.file,
            targets: targets.map((t) => JSON.parse(JSON.stringify(t)) as unknown),
            warnings,
          });
          return 0;
        }
        const header = ['NAME', 'ROLE', 'ADDRESS', 'GROUPS', 'RUN-AS'];
        const body = rows.map((r) => [r.name, r.role, r.address, r.groups.join(','), r.run_as]);
        printText(table([header, ...body]));
        printText(`\n${rows.length} target(s) from ${inv.file}`);
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
        return 0;
      }),
    );
  return inventory;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
