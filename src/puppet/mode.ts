/**
 * The failover role of a Puppet server and the replication kill-switch, as files on the host:
 *
 * - `/etc/pef/mode` (key=value: mode, peer, changed_at, by) says whether this server is the
 *   `active` one (agents' primary, CA signing, sends data) or the `passive` one (warm spare,
 *   receives data). An external fact file (`pef_failover.yaml` in facter's facts.d) carries the
 *   same as `pef_failover_mode` and `pef_failover_peer`, for classification and for operators.
 * - `/etc/pef/replication.disabled` is the kill-switch: while it exists, no sync or restore may
 *   read from or write to this host's Puppet data, in either direction. `demote` sets it so a
 *   demoted (or returning) old primary cannot clobber the promoted one; `set_mode
 *   replication=enabled` clears it once the operator is sure of the roles.
 *
 * The rule every sync/restore task follows (`replicationBlock`): a host with the kill-switch
 * takes part in nothing; a `passive` host never sends; an `active` host never receives. A host
 * without a mode file (never set) is not restricted, so setups that predate modes keep working.
 */
import { PefError } from '../errors/pef-error.js';
import { EPOCH_FILE, parseEpochFile, type EpochReading } from './epoch.js';
import { parseKeyValues } from '../util/key-value.js';
import { shQuote } from '../util/shell-quote.js';

/** Where pef keeps its own state on a host. */
export const PEF_STATE_DIR = '/etc/pef';

/** The mode marker file. */
export const MODE_FILE = `${PEF_STATE_DIR}/mode`;

/** The replication kill-switch: replication is off on this host while this file exists. */
export const KILL_SWITCH_FILE = `${PEF_STATE_DIR}/replication.disabled`;

/** The external facts file's name in facter's facts.d. */
export const FACTS_FILE_NAME = 'pef_failover.yaml';

/** Exit status of `replicationDisabledCheck` when replication is not allowed (EX_TEMPFAIL: try later). */
export const REPLICATION_BLOCKED_EXIT = 75;

/**
 * A server's failover role. `fenced` is passive and more: the server lost a promotion (or was
 * fenced on purpose), its Puppet Server is stopped so agents move on to the next server in their
 * server_list, and its kill-switch is on. It never sends; it receives again once an operator
 * clears the kill-switch (a failback syncs into it).
 */
export type FailoverMode = 'active' | 'passive' | 'fenced';

/** Every failover mode, for parameters and parsers. */
export const FAILOVER_MODES = ['active', 'passive', 'fenced'] as const satisfies readonly FailoverMode[];

/** Which side of a transfer a host is on. */
export type ReplicationRole = 'send' | 'receive';

/** What the mode file holds. */
export interface ModeRecord {
  mode: FailoverMode;
  peer: string | null;
  changedAt: string;
  by: string;
}

/** What the kill-switch file holds. */
export interface KillSwitchRecord {
  reason: string;
  since: string;
  by: string;
}

/** The replication-relevant state of one host, as `replicationStateCommand` reads it. */
export interface ReplicationState {
  /** null: no (valid) mode file, the host was never given a mode. */
  mode: ModeRecord | null;
  /** null: the kill-switch is off. */
  killSwitch: KillSwitchRecord | null;
  /** The promotion epoch (src/puppet/epoch.ts): null without the file, 'invalid' when unreadable. */
  epoch: EpochReading;
}

/** The mode file's text. */
export function renderModeFile(record: ModeRecord): string {
  return [
    '# pef failover mode of this Puppet server. Change it with `pef task run set_mode|promote|demote`, not by hand.',
    `mode=${record.mode}`,
    `peer=${record.peer ?? ''}`,
    `changed_at=${record.changedAt}`,
    `by=${oneLine(record.by)}`,
    '',
  ].join('\n');
}

/** The kill-switch file's text. */
export function renderKillSwitch(record: KillSwitchRecord): string {
  return [
    '# pef: replication to and from this host is switched off while this file exists.',
    '# Clear it with `pef task run set_mode replication=enabled` once the roles are sure.',
    `reason=${oneLine(record.reason)}`,
    `since=${record.since}`,
    `by=${oneLine(record.by)}`,
    '',
  ].join('\n');
}

/** The external fact file's YAML (facter reads it as `pef_failover_mode`, `pef_failover_peer`). */
export function renderFactsFile(mode: FailoverMode, peer: string | null): string {
  return [
    '# Written by pef (set_mode/promote/demote); classification may use pef_failover_mode.',
    `pef_failover_mode: ${mode}`,
    `pef_failover_peer: ${JSON.stringify(peer ?? '')}`,
    '',
  ].join('\n');
}

/** Parses a mode file; null when it is empty or names no valid mode. */
export function parseModeFile(text: string): ModeRecord | null {
  const kv = parseKeyValues(text);
  const mode = FAILOVER_MODES.find((m) => m === kv.get('mode'));
  if (mode === undefined) return null;
  return { mode, peer: kv.get('peer') || null, changedAt: kv.get('changed_at') ?? '', by: kv.get('by') ?? '' };
}

const MODE_MARK = '--- pef mode';
const SWITCH_MARK = '--- pef kill-switch';
const EPOCH_MARK = '--- pef epoch';

/**
 * A read-only command printing the mode file, the epoch file and, if present, the kill-switch;
 * parse with `parseReplicationState`. The transfer channel's gate runs it for the sending peer too
 * (as the transfer user: every file here is world-readable, nothing secret).
 */
export function replicationStateCommand(): string {
  return [
    `echo ${shQuote(MODE_MARK)}; cat ${shQuote(MODE_FILE)} 2>/dev/null`,
    `echo; echo ${shQuote(EPOCH_MARK)}; cat ${shQuote(EPOCH_FILE)} 2>/dev/null`,
    `if [ -e ${shQuote(KILL_SWITCH_FILE)} ]; then echo ${shQuote(SWITCH_MARK)}; cat ${shQuote(KILL_SWITCH_FILE)} 2>/dev/null; echo; fi`,
    'true',
  ].join('; ');
}

/** Whether `stdout` is replicationStateCommand's output at all (its mode and epoch sections are there). */
export function isReplicationStateOutput(stdout: string): boolean {
  const lines = stdout.split('\n');
  return lines.includes(MODE_MARK) && lines.includes(EPOCH_MARK);
}

/** Reads `replicationStateCommand` output. */
export function parseReplicationState(stdout: string): ReplicationState {
  const modeAt = stdout.indexOf(MODE_MARK);
  const epochAt = stdout.indexOf(EPOCH_MARK);
  const switchAt = stdout.indexOf(SWITCH_MARK);
  // Each section ends where the next one starts (or at the end of the output).
  const end = (from: number): number | undefined =>
    [modeAt, epochAt, switchAt].filter((at) => at > from).sort((a, b) => a - b)[0];
  const modeText = modeAt < 0 ? '' : stdout.slice(modeAt + MODE_MARK.length, end(modeAt));
  const epochText = epochAt < 0 ? '' : stdout.slice(epochAt + EPOCH_MARK.length, end(epochAt));
  let killSwitch: KillSwitchRecord | null = null;
  if (switchAt >= 0) {
    const kv = parseKeyValues(stdout.slice(switchAt + SWITCH_MARK.length));
    // An empty or hand-made file still switches replication off: its existence is what counts.
    killSwitch = {
      reason: kv.get('reason') || '(no reason given)',
      since: kv.get('since') ?? '',
      by: kv.get('by') ?? '',
    };
  }
  return { mode: parseModeFile(modeText), killSwitch, epoch: parseEpochFile(epochText) };
}

/** Why `host` may not take part in replication as `role`, or null when it may. */
export function replicationBlock(state: ReplicationState, role: ReplicationRole, host: string): string | null {
  if (state.killSwitch) {
    const s = state.killSwitch;
    return (
      `replication is switched off on ${host} (${KILL_SWITCH_FILE}${s.since ? ` since ${s.since}` : ''}${s.by ? ` by ${s.by}` : ''}: ${s.reason}). ` +
      `Make sure which server is active, then clear it with \`pef task run set_mode -t ${host} mode=<active|passive> replication=enabled\`.`
    );
  }
  if (role === 'send' && (state.mode?.mode === 'passive' || state.mode?.mode === 'fenced')) {
    return `${host} is ${state.mode.mode} (${MODE_FILE}): a ${state.mode.mode} server sends nothing. Run the sync from the active server${state.mode.peer ? ` (${state.mode.peer}?)` : ''}.`;
  }
  if (role === 'receive' && state.mode?.mode === 'active') {
    return `${host} is active (${MODE_FILE}): an active server is never overwritten by a sync. If ${host} should receive, demote it first (\`pef task run demote -t ${host}\`).`;
  }
  return null;
}

/**
 * A shell snippet (a subshell) that exits 0 when this host may take part in replication as
 * `role`, and otherwise prints why on stderr and exits 75 (REPLICATION_BLOCKED_EXIT). For
 * host-side scripts and cron jobs: `CHECK || exit 0`, or `CHECK && rsync …`.
 */
export function replicationDisabledCheck(role: ReplicationRole): string {
  const sw = shQuote(KILL_SWITCH_FILE);
  // The same rule as replicationBlock: passive and fenced servers never send, active ones never receive.
  const refused = role === 'send' ? 'passive | fenced' : 'active';
  return (
    `(if [ -e ${sw} ]; then echo "pef: replication is switched off on $(hostname -f 2>/dev/null || hostname) by ${KILL_SWITCH_FILE}: $(sed -n 's/^reason=//p' ${sw} 2>/dev/null)" >&2; exit ${REPLICATION_BLOCKED_EXIT}; fi; ` +
    `m=$(sed -n 's/^mode=//p' ${shQuote(MODE_FILE)} 2>/dev/null | tail -n 1); ` +
    `case $m in ${refused}) echo "pef: $(hostname -f 2>/dev/null || hostname) is $m (${MODE_FILE}); it does not ${role} replicated data" >&2; exit ${REPLICATION_BLOCKED_EXIT} ;; esac; exit 0)`
  );
}

/** The reading side of a host, as tasks have it (`ctx` or `await ctx.peer(name)`). */
export interface ReadableHost {
  readonly target: { readonly name: string };
  read(command: string): Promise<{ stdout: string }>;
}

/** Reads a host's mode and kill-switch. */
export async function readReplicationState(host: ReadableHost): Promise<ReplicationState> {
  return parseReplicationState((await host.read(replicationStateCommand())).stdout);
}

/**
 * Throws `pef/task-failed` unless `host` may take part in replication as `role`; for sync and
 * restore tasks, before they change anything: `await assertReplicationAllowed(ctx, 'send', 'sync_ca')`
 * and `await assertReplicationAllowed(replica, 'receive', 'sync_ca')`.
 */
export async function assertReplicationAllowed(
  host: ReadableHost,
  role: ReplicationRole,
  task: string,
): Promise<ReplicationState> {
  const state = await readReplicationState(host);
  const reason = replicationBlock(state, role, host.target.name);
  if (reason !== null) {
    throw new PefError('pef/task-failed', `${task} refused: ${reason} Nothing was changed.`, {
      host: host.target.name,
      role,
      mode: state.mode?.mode ?? null,
      kill_switch: state.killSwitch !== null,
    });
  }
  return state;
}

/**
 * Where the facts file goes: the AIO/PE facts.d when the AIO layout exists (what pe_failover
 * used), else /etc/facter/facts.d, the one directory Debian's facter reads (and AIO's too).
 * Prints the directory; `facter` is asked afterwards whether it really sees the fact.
 */
export function factsDirCommand(): string {
  return 'if [ -d /opt/puppetlabs/facter ] || [ -x /opt/puppetlabs/bin/facter ]; then echo /opt/puppetlabs/facter/facts.d; else echo /etc/facter/facts.d; fi';
}

/** Prints the fact as facter resolves it (empty when facter does not see it). */
export function factQueryCommand(fact: string): string {
  return `PATH=/opt/puppetlabs/bin:$PATH facter -p ${shQuote(fact)} 2>/dev/null || true`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}
