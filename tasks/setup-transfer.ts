/**
 * setup_transfer: the channel every sync uses, from the sending host (run on it: the primary)
 * to a receiving host (the replica): a dedicated user there whose one key may only write into
 * a staging directory (rrsync -wo, `restrict`: no pty, no forwarding, no agent), a key generated
 * here, and the receiver's host key pinned here from the receiver's own key file (no
 * trust-on-first-use). Finishes by proving the channel works with a dry-run rsync.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { readFileCommand, statCommand, writeFileCommand } from '../src/host/files.js';
import { isReplicationStateOutput } from '../src/puppet/mode.js';
import {
  authorizedKeyLine,
  hasTransferKey,
  knownHostsLine,
  PEER_STATE_REQUEST,
  peerStateCommand,
  rsyncToReceiver,
  TRANSFER_GATE,
  transferGateScript,
  TRANSFER_DEFAULTS,
  transferParams,
  transferPaths,
  transferSettings,
  type TransferSettings,
} from '../src/puppet/transfer.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/** Creates the sender's transfer key (in a 0700 dir) unless it exists. */
export function senderKeyCommand(settings: TransferSettings, comment: string): string {
  return `install -d -m 700 ${shQuote(settings.senderDir)} && ssh-keygen -q -t ed25519 -N '' -C ${shQuote(comment)} -f ${shQuote(transferPaths(settings).key)}`;
}

/** Prints `owner:group mode` of the transfer user's home, .ssh, incoming and authorized_keys (one line each; missing: nothing). */
export function transferDirsProbe(settings: TransferSettings): string {
  const p = transferPaths(settings);
  return [settings.home, `${settings.home}/.ssh`, p.incoming, p.authorizedKeys]
    .map((d) => `stat -c '%U:%G %a' ${shQuote(d)} 2>/dev/null || echo missing`)
    .join('; ');
}

/**
 * What `transferDirsProbe` prints when the layout is right. Only incoming/ is the transfer user's:
 * the home, .ssh and authorized_keys are root's (readable by the user, which sshd reads them as),
 * so the user can never replace its own key or lift the forced command.
 */
export function wantedTransferDirs(settings: TransferSettings): string {
  const u = settings.user;
  return ['root:root 755', `root:${u} 750`, `${u}:${u} 700`, `root:${u} 640`].join('\n');
}

/**
 * Creates or repairs the receiver's layout (see wantedTransferDirs). The home is made root's
 * first: from then on the user cannot swap .ssh or incoming for a link, and a link already there
 * (from a home the user owned) is refused rather than followed. A stray authorized_keys2, which
 * sshd also reads, is removed.
 */
export function transferDirsCommand(settings: TransferSettings): string {
  const u = shQuote(settings.user);
  const h = shQuote(settings.home);
  const ssh = shQuote(`${settings.home}/.ssh`);
  const incoming = shQuote(transferPaths(settings).incoming);
  return [
    'set -e',
    `for p in ${h} ${ssh} ${incoming}; do if [ -L "$p" ]; then echo "pef: refusing to use $p: it is a symbolic link; remove it and run setup_transfer again" >&2; exit 1; fi; done`,
    `install -d -m 755 -o root -g root ${h}`,
    `install -d -m 750 -o root -g ${u} ${ssh}`,
    `install -d -m 700 -o ${u} -g ${u} ${incoming}`,
    `rm -f ${shQuote(`${settings.home}/.ssh/authorized_keys2`)}`,
  ].join('\n');
}

/** The dry-run rsync that proves the channel: an empty temp dir as the source, so it carries no data. */
export function transferProbeCommand(settings: TransferSettings): string {
  return `d=$(mktemp -d) && ${rsyncToReceiver(settings, '"$d"', '.pef-probe', { shellSource: true })} --dry-run 2>&1; rc=$?; rmdir "$d"; exit $rc`;
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
  // Long on purpose: it reads as the runbook it replaces, each step in order with its refusal
  // beside it; the step helpers live in src/.
  async run(ctx) {
    const receiver = await ctx.peer(ctx.params.receiver);
    const settings = await transferSettings(ctx.params, receiver);
    const paths = transferPaths(settings);
    const changed: string[] = [];

    // Sender: the key.
    if (!(await hasTransferKey(ctx, settings))) {
      await ctx.change(senderKeyCommand(settings, `pef-transfer@${ctx.target.name}`));
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
    const layoutRight =
      (await receiver.read(transferDirsProbe(settings))).stdout.trim() === wantedTransferDirs(settings);
    if (!layoutRight) {
      await receiver.change(transferDirsCommand(settings));
      changed.push('receiver directories');
    }
    // The gate (the key's forced command): rrsync -wo for data, and the read-only peer state.
    const gate = transferGateScript(rrsync, paths.incoming);
    const gateNow = (await receiver.read(readFileCommand(TRANSFER_GATE))).stdout;
    const gateAttrs = (await receiver.read(statCommand(TRANSFER_GATE))).stdout.trim();
    if (gateNow !== gate || gateAttrs !== 'root:root 755') {
      await receiver.change(writeFileCommand(TRANSFER_GATE, { mode: '755', owner: 'root', group: 'root' }), {
        stdin: gate,
      });
      changed.push('transfer gate');
    }
    const wantedKeys = `${authorizedKeyLine(TRANSFER_GATE, publicKey)}\n`;
    if (!layoutRight || (await receiver.read(readFileCommand(paths.authorizedKeys))).stdout !== wantedKeys) {
      await receiver.change(
        writeFileCommand(paths.authorizedKeys, { mode: '640', owner: 'root', group: settings.user }),
        {
          stdin: wantedKeys,
        },
      );
      changed.push('authorized key');
    }

    // Sender: pin the receiver's host key, read from the receiver itself.
    const hostKey = (await receiver.read('cat /etc/ssh/ssh_host_ed25519_key.pub')).stdout.trim();
    const wantedKnown = `${knownHostsLine(settings.host, settings.port, hostKey, receiver.target.name)}\n`;
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
      const probe = await ctx.read(transferProbeCommand(settings), {
        okExitCodes: Array.from({ length: 256 }, (_, i) => i),
      });
      if (probe.exitCode !== 0) {
        throw new PefError(
          'pef/task-failed',
          `The transfer channel ${ctx.target.name} -> ${settings.user}@${settings.host}:${settings.port} does not work (rsync exit ${probe.exitCode}): ${probe.stdout.trim().split('\n').slice(-3).join(' ')}. Check that the sender can reach ${settings.host} (receiver_host=…) on port ${settings.port}.`,
          {
            exitCode: probe.exitCode,
          },
        );
      }
      // And the gate's other answer, which the jobs' fence check depends on.
      const state = await ctx.read(`${peerStateCommand(settings)} 2>&1`, {
        okExitCodes: Array.from({ length: 256 }, (_, i) => i),
      });
      if (state.exitCode !== 0 || !isReplicationStateOutput(state.stdout)) {
        throw new PefError(
          'pef/task-failed',
          `The transfer channel ${ctx.target.name} -> ${settings.user}@${settings.host} moves data, but its gate does not answer ${PEER_STATE_REQUEST} (exit ${state.exitCode}): ${state.stdout.trim().split('\n').slice(-3).join(' ')}. ` +
            `The replication jobs compare epochs through it and send nothing without it; check ${TRANSFER_GATE} on ${receiver.target.name}.`,
          { exitCode: state.exitCode },
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
