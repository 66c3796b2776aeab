/**
 * Bringing a host to a failover mode: the primitive under the set_mode, promote and demote tasks.
 * Writes the mode marker and the `pef_failover_mode` external fact, and optionally switches the
 * replication kill-switch and the CA service (see mode.ts for the files). Everything is read
 * first and every refusal happens before the first change; a second run with the same wanted
 * state changes nothing.
 */
import { userInfo, hostname } from 'node:os';
import { z } from 'zod';
import { PefError } from '../errors/pef-error.js';
import type { HostFacts } from '../host/discover.js';
import { readFileCommand, writeFileCommand } from '../host/files.js';
import { serviceCommand } from '../host/services.js';
import type { HostCommands } from '../task/task.js';
import { shQuote } from '../util/shell-quote.js';
import { renderEpochFile, writeEpochCommand } from './epoch.js';
import { caCfgMissing, caServiceState, findCaCfgCommand, setCaService } from './ca-service.js';
import {
  FACTS_FILE_NAME,
  KILL_SWITCH_FILE,
  MODE_FILE,
  PEF_STATE_DIR,
  factQueryCommand,
  factsDirCommand,
  readReplicationState,
  renderFactsFile,
  renderKillSwitch,
  renderModeFile,
  type FailoverMode,
  type ReplicationState,
} from './mode.js';

/** What `applyMode` should make true; an absent field is left as it is. */
export interface WantedMode {
  mode: FailoverMode;
  /** The other server's name; undefined keeps the recorded one. */
  peer?: string | undefined;
  replication?: 'enabled' | 'disabled' | undefined;
  ca?: 'enabled' | 'disabled' | undefined;
  /** Why the kill-switch is set, written into it. */
  reason?: string;
  /** Where to write the fact file instead of the discovered facts.d. */
  factsDir?: string | undefined;
  /** The task on whose behalf this runs, for the `by` fields. */
  task: string;
  /** The promotion epoch to write (src/puppet/epoch.ts); undefined leaves it. */
  epoch?: number | undefined;
}

/** What `applyMode` did (or, in noop, would do). */
export interface AppliedMode {
  changes: string[];
  before: ReplicationState;
  /** ca.cfg path and states, when the CA was asked about. */
  ca: { file: string; before: string; after: string; applied: 'restarted' | 'at next start' | 'unchanged' } | null;
  factsFile: string;
  value: Record<string, unknown>;
}

/** Who made a change: the task, and the operator and controller it ran from. */
export function changedBy(task: string): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): keep "unknown".
  }
  return `pef ${task} (${user}@${hostname()})`;
}

/**
 * Brings `host` to `wanted`: mode marker, fact file, kill-switch, CA service (restarting a running
 * puppetserver when ca.cfg changed). Refuses, before changing anything, to touch the CA on PE and
 * to enable a CA where there is none (puppetserver would create a new, untrusted one).
 */
// Long on purpose: it reads in the order the change must happen (refusals before any change, then
// the mode files, then the CA service), which is what a reviewer checks.
export async function applyMode(
  host: HostCommands,
  facts: HostFacts,
  wanted: WantedMode,
  noop: boolean,
): Promise<AppliedMode> {
  const name = host.target.name;
  const before = await readReplicationState(host);
  const peer = wanted.peer === undefined ? (before.mode?.peer ?? null) : wanted.peer || null;
  const factsDir = wanted.factsDir ?? (await host.read(factsDirCommand())).stdout.trim();
  const factsFile = `${factsDir}/${FACTS_FILE_NAME}`;
  const factsText = renderFactsFile(wanted.mode, peer);
  const factsNow = (await host.read(readFileCommand(factsFile))).stdout;

  let caPlan: { file: string; text: string; next: string } | null = null;
  if (wanted.ca !== undefined) {
    if (facts.flavor === 'pe') {
      throw new PefError(
        'pef/task-failed',
        `${wanted.task} on ${name}: on Puppet Enterprise the CA service is set by classification (the PE Certificate Authority node group), ` +
          'and an edit of ca.cfg would be reverted by the next agent run. Use `puppet infrastructure promote replica` for PE disaster recovery, ' +
          'or classify on the pef_failover_mode fact and run this task with ca=leave, then `puppet agent -t`. Nothing was changed.',
        { host: name, flavor: 'pe' },
      );
    }
    const file = (await host.read(findCaCfgCommand(facts.paths.confdir))).stdout.trim();
    if (!file) throw caCfgMissing(name, facts.paths.confdir);
    const text = (await host.read(readFileCommand(file))).stdout;
    const next = setCaService(text, wanted.ca === 'enabled');
    // Also when ca.cfg already says enabled (the package default): promote starts the server next.
    if (wanted.ca === 'enabled' && !facts.hasCa) {
      throw new PefError(
        'pef/task-failed',
        `${wanted.task} on ${name}: refusing to enable the CA service: there is no CA in ${facts.paths.cadir || 'the cadir'} (no ca_crt.pem), ` +
          "so puppetserver would create a new CA that no agent trusts. Copy the primary's CA first (`pef task run sync_ca -t <primary> receiver=" +
          `${name}\`), or, if the primary and its CA are lost, restore the CA from a backup into ${facts.paths.cadir || 'the cadir'}. Nothing was changed.`,
        { host: name, cadir: facts.paths.cadir },
      );
    }
    caPlan = { file, text, next };
  }

  const changes: string[] = [];
  const by = changedBy(wanted.task);
  const now = new Date().toISOString();
  // The epoch before the mode: a run stopped in between leaves a raised epoch and the old mode,
  // and its re-run raises it again (epochs only need to grow), never an active mode on an old epoch.
  if (wanted.epoch !== undefined && before.epoch !== wanted.epoch) {
    await host.change(writeEpochCommand(), { stdin: renderEpochFile({ epoch: wanted.epoch, changedAt: now, by }) });
    changes.push(`epoch ${before.epoch ?? 'none'} -> ${wanted.epoch}`);
  }
  if (before.mode?.mode !== wanted.mode || before.mode.peer !== peer) {
    await host.change(`mkdir -p ${shQuote(PEF_STATE_DIR)} && ${writeFileCommand(MODE_FILE, { mode: '644' })}`, {
      stdin: renderModeFile({ mode: wanted.mode, peer, changedAt: now, by }),
    });
    if (!before.mode) changes.push(`mode ${wanted.mode}`);
    else if (before.mode.mode !== wanted.mode) changes.push(`mode ${before.mode.mode} -> ${wanted.mode}`);
    if (before.mode && before.mode.peer !== peer)
      changes.push(`peer ${before.mode.peer ?? 'none'} -> ${peer ?? 'none'}`);
  }
  if (factsNow !== factsText) {
    await host.change(`mkdir -p ${shQuote(factsDir)} && ${writeFileCommand(factsFile, { mode: '644' })}`, {
      stdin: factsText,
    });
    changes.push('fact pef_failover_mode');
  }
  if (wanted.replication === 'disabled' && !before.killSwitch) {
    await host.change(`mkdir -p ${shQuote(PEF_STATE_DIR)} && ${writeFileCommand(KILL_SWITCH_FILE, { mode: '644' })}`, {
      stdin: renderKillSwitch({ reason: wanted.reason ?? `set by ${wanted.task}`, since: now, by }),
    });
    changes.push('replication switched off');
  } else if (wanted.replication === 'enabled' && before.killSwitch) {
    await host.change(`rm -f ${shQuote(KILL_SWITCH_FILE)}`);
    changes.push('replication switched on');
  }

  let ca: AppliedMode['ca'] = null;
  if (caPlan) {
    const server = facts.services.find((s) => s.name === 'puppetserver' || s.name === 'pe-puppetserver');
    let applied: NonNullable<AppliedMode['ca']>['applied'] = 'unchanged';
    if (caPlan.next !== caPlan.text) {
      await host.change(writeFileCommand(caPlan.file, { mode: '644' }), { stdin: caPlan.next });
      changes.push(`CA service ${wanted.ca}`);
      applied = 'at next start';
      // Trapperkeeper reads services.d only at boot: a HUP is not enough.
      if (server?.running) {
        await host.change(serviceCommand(facts.serviceManager, 'restart', server.name));
        applied = 'restarted';
      }
    }
    ca = { file: caPlan.file, before: caServiceState(caPlan.text), after: caServiceState(caPlan.next), applied };
  }

  if (!noop && changes.length > 0) {
    const seen = (await host.read(factQueryCommand('pef_failover_mode'))).stdout.trim();
    if (seen !== wanted.mode) {
      throw new PefError(
        'pef/task-failed',
        `${wanted.task} on ${name}: wrote ${factsFile}, but \`facter -p pef_failover_mode\` says "${seen}", not "${wanted.mode}": facter does not read ${factsDir} ` +
          `(check external-dir in facter.conf). The mode file ${MODE_FILE} and the other changes (${changes.join(', ')}) are in place; ` +
          'pass facts_dir=<a directory facter reads> and run again.',
        { host: name, factsFile, seen },
      );
    }
  }

  return {
    changes,
    before,
    ca,
    factsFile,
    value: {
      mode: wanted.mode,
      previous_mode: before.mode?.mode ?? null,
      epoch: wanted.epoch ?? before.epoch,
      peer,
      replication: wanted.replication ?? (before.killSwitch ? 'disabled' : 'enabled'),
      facts_file: factsFile,
      ...(ca ? { ca_service: ca.after, ca_file: ca.file, ca_applied: ca.applied } : {}),
      updated: changes,
    },
  };
}

/** The `facts_dir` parameter shared by set_mode, promote and demote. */
export const factsDirParam = z
  .string()
  .regex(/^\/[^\0\n]*$/)
  .optional()
  .describe(
    "facter's external facts directory to write pef_failover.yaml into (default: /opt/puppetlabs/facter/facts.d on AIO/PE, else /etc/facter/facts.d)",
  );
