/**
 * setup_transfer: the channel every sync uses, from the sending host (run on it: the primary)
 * to a receiving host (the replica): a dedicated user there whose one key may only write into
 * a staging directory (rrsync -wo, `restrict`: no pty, no forwarding, no agent), a key generated
 * here, and the receiver's host key pinned here from the receiver's own key file (no
 * trust-on-first-use). Finishes by proving the channel works with a dry-run rsync.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { readFileCommand, writeFileCommand } from '../src/host/files.js';
import {
  authorizedKeyLine,
  hasTransferKey,
  knownHostsLine,
  rsyncToReceiver,
  TRANSFER_DEFAULTS,
  transferPaths,
  type TransferSettings,
} from '../src/puppet/transfer.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/** Parameters shared by the tasks that use the transfer channel. */
export const transferParams = {
  receiver: z.string().min(1).describe('inventory name of the receiving host (the replica)'),
  receiver_host: z
    .string()
    .min(1)
    .optional()
    .describe("how the sender reaches the receiver (default: the receiver's hostname -f)"),
  receiver_port: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(TRANSFER_DEFAULTS.port)
    .describe('ssh port of the receiver'),
  transfer_user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]*$/)
    .default(TRANSFER_DEFAULTS.user)
    .describe('the transfer user on the receiver'),
};

/** Builds TransferSettings from the shared parameters and the receiver's name. */
export async function transferSettings(
  params: { receiver_host?: string | undefined; receiver_port: number; transfer_user: string },
  receiver: { read(c: string): Promise<{ stdout: string }> },
): Promise<TransferSettings> {
  const host = params.receiver_host ?? (await receiver.read('hostname -f 2>/dev/null || hostname')).stdout.trim();
  return {
    user: params.transfer_user,
    home: TRANSFER_DEFAULTS.home,
    senderDir: TRANSFER_DEFAULTS.senderDir,
    host,
    port: params.receiver_port,
  };
}

/** Sets up the transfer channel; see the file comment. */
export const setupTransfer = defineTask({
  name: 'setup_transfer',
  description: 'Create the restricted transfer user on the receiver, a key on the sender, and pin the host key',
  details: `Run on the sending host (the primary) with receiver=<the replica's inventory name>.
On the receiver: user ${TRANSFER_DEFAULTS.user} (system account, no password), home ${TRANSFER_DEFAULTS.home},
staging dir incoming/, and one authorized key restricted to \`rrsync -wo incoming/\`.
On the sender: ${TRANSFER_DEFAULTS.senderDir}/id_ed25519 and known_hosts with the receiver's ed25519 host key.
Needs rsync (with rrsync) and python3 on the receiver.`,
  params: z.object(transferParams),
  supportsNoop: true,
  async run(ctx) {
    const receiver = await ctx.peer(ctx.params.receiver);
    const settings = await transferSettings(ctx.params, receiver);
    const paths = transferPaths(settings);
    const changed: string[] = [];

    // Sender: the key.
    if (!(await hasTransferKey(ctx, settings))) {
      await ctx.change(
        `install -d -m 700 ${shQuote(settings.senderDir)} && ssh-keygen -q -t ed25519 -N '' -C ${shQuote(`pef-transfer@${ctx.target.name}`)} -f ${shQuote(paths.key)}`,
      );
      changed.push('sender key');
    }
    const publicKey =
      ctx.noop && changed.length > 0
        ? '<the new public key>'
        : (await ctx.read(`cat ${shQuote(`${paths.key}.pub`)}`)).stdout.trim();

    // Receiver: user, staging dir, authorized key.
    const rrsync = (await receiver.read('command -v rrsync || true')).stdout.trim();
    if (!rrsync) {
      throw new PefError(
        'pef/task-failed',
        `${receiver.target.name} has no rrsync: install rsync 3.2.4 or later (Debian 12: apt-get install rsync) and python3 there, then run setup_transfer again. Nothing was changed on ${receiver.target.name}.`,
        {
          receiver: receiver.target.name,
        },
      );
    }
    if (
      (await receiver.read(`id -u ${shQuote(settings.user)} >/dev/null 2>&1 && echo yes || echo no`)).stdout.trim() !==
      'yes'
    ) {
      await receiver.change(
        `useradd --system --home-dir ${shQuote(settings.home)} --create-home --shell /bin/sh ${shQuote(settings.user)}`,
      );
      changed.push('receiver user');
    }
    const dirs = (
      await receiver.read(
        `stat -c '%U %a' ${shQuote(paths.incoming)} ${shQuote(`${settings.home}/.ssh`)} 2>/dev/null || true`,
      )
    ).stdout
      .trim()
      .split('\n');
    if (dirs.length !== 2 || dirs.some((d) => d !== `${settings.user} 700`)) {
      await receiver.change(
        `install -d -o ${shQuote(settings.user)} -g ${shQuote(settings.user)} -m 700 ${shQuote(settings.home)} ${shQuote(paths.incoming)} ${shQuote(`${settings.home}/.ssh`)}`,
      );
      changed.push('receiver directories');
    }
    const wantedKeys = `${authorizedKeyLine(rrsync, paths.incoming, publicKey)}\n`;
    if ((await receiver.read(readFileCommand(paths.authorizedKeys))).stdout !== wantedKeys) {
      await receiver.change(
        writeFileCommand(paths.authorizedKeys, { mode: '600', owner: settings.user, group: settings.user }),
        { stdin: wantedKeys },
      );
      changed.push('authorized key');
    }

    // Sender: pin the receiver's host key, read from the receiver itself.
    const hostKey = (await receiver.read('cat /etc/ssh/ssh_host_ed25519_key.pub')).stdout.trim();
    const wantedKnown = `${knownHostsLine(settings.host, settings.port, hostKey)}\n`;
    if ((await ctx.read(readFileCommand(paths.knownHosts))).stdout !== wantedKnown) {
      await ctx.change(
        `install -d -m 700 ${shQuote(settings.senderDir)} && ${writeFileCommand(paths.knownHosts, { mode: '644' })}`,
        { stdin: wantedKnown },
      );
      changed.push('pinned host key');
    }

    // Prove it: a dry-run rsync authenticates, checks the host key and passes the forced command.
    if (!ctx.noop) {
      // An empty temp dir as the source: the probe proves the channel and carries no data.
      const probe = await ctx.read(
        `d=$(mktemp -d) && ${rsyncToReceiver(settings, '"$d"', '.pef-probe', { shellSource: true })} --dry-run 2>&1; rc=$?; rmdir "$d"; exit $rc`,
        {
          okExitCodes: Array.from({ length: 256 }, (_, i) => i),
        },
      );
      if (probe.exitCode !== 0) {
        throw new PefError(
          'pef/task-failed',
          `The transfer channel ${ctx.target.name} -> ${settings.user}@${settings.host}:${settings.port} does not work (rsync exit ${probe.exitCode}): ${probe.stdout.trim().split('\n').slice(-3).join(' ')}. Check that the sender can reach ${settings.host} (receiver_host=…) on port ${settings.port}.`,
          {
            exitCode: probe.exitCode,
          },
        );
      }
    }
    return {
      changed: changed.length > 0,
      value: {
        receiver: receiver.target.name,
        host: settings.host,
        port: settings.port,
        user: settings.user,
        updated: changed,
      },
    };
  },
});
