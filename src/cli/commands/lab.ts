/**
 * `pef lab up|down|status|exec|stop|start|partition|heal`: the multi-host Puppet lab on this machine (docs/lab.md).
 * The lab modules load only when a lab subcommand runs.
 */
import { Command, Option } from 'commander';
import { PefError } from '../../errors/pef-error.js';
import { formatOption, printJson, printText, returning, type ExitSink, type Format } from '../output.js';

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value)) throw new PefError('pef/usage-error', `--agents must be a whole number, got '${value}'`);
  return n;
}

/** The `lab` command. */
// Long as a list, not as logic: one commander registration per subcommand, in help order.
export function labCommand(exit: ExitSink): Command {
  const lab = new Command('lab')
    .description(
      'a multi-host Puppet lab on this machine: primary, replica and agents, each a host with its own sshd (root, Linux)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  $ sudo pef lab up --agents 2 && pef lab status && pef lab down\n\nSee docs/lab.md.',
    );

  lab
    .command('up')
    .description('start the lab (or report that it is up) and write its Bolt inventory')
    .addOption(
      new Option(
        '--profile <profile>',
        'oss (Debian packages) or pe (the same Puppet laid out as Puppet Enterprise, with labelled stand-ins)',
      )
        .choices(['oss', 'pe'])
        .default('oss'),
    )
    .option('--agents <n>', 'number of agents agent1…agentN', wholeNumber, 1)
    .option('--dir <dir>', 'state directory', '.pef-lab')
    .addOption(formatOption().default('human'))
    // For tests: stop after the hosts (`hosts`) or after sshd and the inventory (`ssh`).
    .addOption(new Option('--stop-after <step>').choices(['hosts', 'ssh', 'full']).default('full').hideHelp())
    // For tests that need a second lab next to the shared one: another 127.x.y.0/24.
    .addOption(new Option('--address-prefix <a.b.c>').hideHelp())
    .addHelpText(
      'after',
      '\nExample:\n  $ sudo pef lab up --agents 2\n  $ pef inventory show -i .pef-lab/inventory.yaml',
    )
    .action(
      returning(
        exit,
        async (flags: {
          profile: 'oss' | 'pe';
          agents: number;
          dir: string;
          format: Format;
          stopAfter: 'hosts' | 'ssh' | 'full';
          addressPrefix?: string;
        }) => {
          const fmt = flags.format;
          const { labUp } = await import('../../lab/lab-up.js');
          const info = await labUp({
            dir: flags.dir,
            profile: flags.profile,
            agents: flags.agents,
            stopAfter: flags.stopAfter,
            ...(flags.addressPrefix === undefined ? {} : { addressPrefix: flags.addressPrefix }),
            onProgress: (line) => process.stderr.write(`lab: ${line}\n`),
          });
          if (fmt === 'json') {
            printJson(info);
            return 0;
          }
          const took = (info.durationMs / 1000).toFixed(1);
          printText(info.reused ? `lab already up in ${info.dir}` : `lab up in ${info.dir} (${took} s)`);
          for (const h of info.hosts) printText(`  ${h.fqdn.padEnd(14)} ${h.address.padEnd(12)} ${h.role}`);
          printText(`inventory: ${info.inventory}`);
          return 0;
        },
      ),
    );

  lab
    .command('down')
    .description('stop every lab host and remove the state directory (also after a killed `up`)')
    .option('--dir <dir>', 'state directory', '.pef-lab')
    .addOption(formatOption().default('human'))
    .addHelpText('after', '\nExample:\n  $ sudo pef lab down --dir /tmp/pef-test-lab')
    .action(
      returning(exit, async (flags: { dir: string; format: Format }) => {
        const { labDown } = await import('../../lab/lab-down.js');
        const result = await labDown({ dir: flags.dir });
        if (flags.format === 'json') printJson(result);
        else printText(result.removed ? `lab in ${result.dir} is down and removed` : `no lab in ${result.dir}`);
        return 0;
      }),
    );

  lab
    .command('status')
    .description('each lab host and service: up/down, address, pid')
    .option('--dir <dir>', 'state directory', '.pef-lab')
    .addOption(formatOption().default('human'))
    .addHelpText('after', '\nExample:\n  $ pef lab status --format json | jq -r .inventory')
    .action(
      returning(exit, async (flags: { dir: string; format: Format }) => {
        const { labStatus, formatLabStatus } = await import('../../lab/lab-status.js');
        const status = await labStatus({ dir: flags.dir });
        if (flags.format === 'json') printJson(status);
        else printText(formatLabStatus(status));
        // Scripts can test health by exit code too: 2, like a failed target (1 means bad usage).
        return status.healthy ? 0 : 2;
      }),
    );

  lab
    .command('exec')
    .description("run a command inside a lab host, as root (exit code is the command's)")
    .argument('<host>', 'primary, replica, agentN (or FQDN, or address)')
    .argument('<command...>', 'the command, after --')
    .option('--dir <dir>', 'state directory', '.pef-lab')
    .addHelpText('after', '\nExample:\n  $ pef lab exec agent1 -- puppet agent -t')
    .action(
      returning(exit, async (host: string, command: string[], flags: { dir: string }) => {
        const { labExec } = await import('../../lab/lab-exec.js');
        const out = await labExec(host, command, { dir: flags.dir, stdio: 'inherit' });
        return out.exitCode ?? 1;
      }),
    );

  lab
    .command('stop')
    .description('cut the power of a lab host: every process of it is killed (sshd too); its disk stays')
    .argument('<host>', 'primary, replica, agentN (or FQDN, or address)')
    .option('--dir <dir>', 'state directory', '.pef-lab')
    .addOption(formatOption().default('human'))
    .addHelpText('after', '\nExample:\n  $ pef lab stop primary && pef lab status')
    .action(
      returning(exit, async (host: string, flags: { dir: string; format: Format }) => {
        const { labStop } = await import('../../lab/lab-power.js');
        const result = await labStop(host, { dir: flags.dir });
        if (flags.format === 'json') printJson(result);
        else printText(result.changed ? `${result.host} is stopped` : `${result.host} was stopped already`);
        return 0;
      }),
    );

  lab
    .command('start')
    .description('boot a lab host again: sshd, then the services enabled on it (JVMs take a minute each)')
    .argument('<host>', 'primary, replica, agentN (or FQDN, or address)')
    .option('--dir <dir>', 'state directory', '.pef-lab')
    .addOption(formatOption().default('human'))
    .addHelpText('after', '\nExample:\n  $ pef lab start primary')
    .action(
      returning(exit, async (host: string, flags: { dir: string; format: Format }) => {
        const { labStart } = await import('../../lab/lab-power.js');
        const result = await labStart(host, { dir: flags.dir });
        if (flags.format === 'json') printJson(result);
        else printText(`${result.host} is up: ${(result.started ?? []).join(', ') || 'no services'}`);
        return 0;
      }),
    );

  lab
    .command('partition')
    .description("drop packets between a lab host and the others (or one other host, or 'controller': pef itself)")
    .argument('<host>', 'the host to cut off')
    .argument('[other]', "only from this host, or 'controller'")
    .option('--dir <dir>', 'state directory', '.pef-lab')
    .addOption(formatOption().default('human'))
    .addHelpText(
      'after',
      '\nExamples:\n  $ pef lab partition primary            # primary alone\n  $ pef lab partition primary replica\n  $ pef lab partition primary controller # pef cannot reach primary, the hosts can\n  $ pef lab heal',
    )
    .action(
      returning(exit, async (host: string, other: string | undefined, flags: { dir: string; format: Format }) => {
        const { labPartition } = await import('../../lab/lab-partition.js');
        const partitions = await labPartition(host, other, { dir: flags.dir });
        if (flags.format === 'json') printJson({ partitions });
        else printText(`partitions in force: ${partitions.join('; ')}`);
        return 0;
      }),
    );

  lab
    .command('heal')
    .description('remove every partition of the lab')
    .option('--dir <dir>', 'state directory', '.pef-lab')
    .addOption(formatOption().default('human'))
    .action(
      returning(exit, async (flags: { dir: string; format: Format }) => {
        const { labHeal } = await import('../../lab/lab-partition.js');
        const result = await labHeal({ dir: flags.dir });
        if (flags.format === 'json') printJson(result);
        else printText(result.healed ? 'partitions removed' : 'no partition was in force');
        return 0;
      }),
    );

  return lab;
}
