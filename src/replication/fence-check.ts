/**
 * The fence check every sending job runs first, before it looks at any data: it reads this
 * server's mode and epoch, asks the receiver's transfer gate for the receiver's (over the job's
 * own transfer key, `pef-peer-state`, read-only), and applies the rules of
 * src/puppet/fence-verdict.ts, generated here into `case` statements from the same tables:
 *
 * - fence: this server writes mode `fenced` (mode file and fact), switches its replication off,
 *   stops its Puppet Server (agents move on to the next server of their server_list) and logs
 *   `PEF: fence [WARNING] …`; the pass sends nothing;
 * - stay-fenced: a fenced server keeps its Puppet Server stopped (a reboot may have started it);
 * - hold: the pass fails (FAILURE) and sends nothing: unknown is never read as safe;
 * - proceed: the job's own checks and steps follow.
 *
 * The receiver's answer is validated like any value from another host: its sections must be
 * there, the mode must be one pef writes (anything else is "none"), the epoch plain digits in
 * range, or the state is unknown.
 */
import { shQuote } from '../util/shell-quote.js';
import { serviceCommand, type ServiceManager } from '../host/services.js';
import { writeFileCommand } from '../host/files.js';
import { EPOCH_FILE, MAX_EPOCH } from '../puppet/epoch.js';
import { OWN_EPOCH_INVALID, OWN_RULES, PAIR_RULES, PEER_UNKNOWN, type FenceRule } from '../puppet/fence-verdict.js';
import {
  FAILOVER_MODES,
  KILL_SWITCH_FILE,
  MODE_FILE,
  PEF_STATE_DIR,
  renderFactsFile,
  renderKillSwitch,
  renderModeFile,
} from '../puppet/mode.js';
import { peerStateCommand, type TransferSettings } from '../puppet/transfer.js';

/** What the fence check needs to know; install_replication reads it from the hosts. */
export interface FenceSettings {
  /** The job's transfer channel: the gate on its other end answers the peer state. */
  transfer: TransferSettings;
  /** The receiver's inventory name, recorded as the peer in the fenced mode file. */
  peer: string;
  serviceManager: ServiceManager;
  /** The Puppet Server service to stop (puppetserver, pe-puppetserver). */
  serverService: string;
  /** The pef_failover fact file to rewrite as fenced; null: none. */
  factsFile: string | null;
}

const MODES = FAILOVER_MODES.join(' | ');

// A double-quoted shell string of a rule's text: its $own_epoch, $peer_epoch and $peer_mode expand.
function shText(text: string): string {
  return `"${text.replace(/[\\"`]/g, '\\$&').replace(/\$(?!own_epoch\b|peer_epoch\b|peer_mode\b)/g, '\\$')}"`;
}

function arm(pattern: string, rule: FenceRule): string {
  return `  ${pattern}) action=${rule.action} why=${shText(rule.why)} ;;`;
}

// `printf '%s\n' LINE…` words of a text, with @@now@@ turned into "$now".
function lines(text: string): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => `'${l.replace(/'/g, `'\\''`)}'`.replace(/@@now@@/g, `'"$now"'`))
    .join(' ');
}

/** The shell lines of the fence check, for a job script's body (after the lock); see the file comment. */
export function fenceCheckLines(job: string, s: FenceSettings): string[] {
  const by = `pef job ${job} (fence check)`;
  const mode = renderModeFile({ mode: 'fenced', peer: s.peer, changedAt: '@@now@@', by });
  const killSwitch = renderKillSwitch({
    reason: `fenced by the ${job} job: ${s.peer} is active with a newer epoch; promote or demote this server once the roles are sure`,
    since: '@@now@@',
    by,
  });
  const status = serviceCommand(s.serviceManager, 'status', s.serverService);
  const stop = serviceCommand(s.serviceManager, 'stop', s.serverService);
  const factsDir = s.factsFile === null ? null : s.factsFile.replace(/\/[^/]+$/, '');
  return [
    '# The fence check, before anything else (src/replication/fence-check.ts, rules in src/puppet/fence-verdict.ts).',
    `fence_log() { logger -t pef -- "PEF: fence [$1] $2" 2>/dev/null || true; printf 'PEF: fence [%s] %s\\n' "$1" "$2" >&2; }`,
    '# epoch_of TEXT: the epoch an epoch file text holds; 0 for none, "invalid" when it holds no valid one.',
    `epoch_of() { t=$(printf '%s\\n' "$1" | grep -v '^[[:space:]]*$' || true); if [ -z "$t" ]; then echo 0; return 0; fi; e=$(printf '%s\\n' "$t" | sed -n 's/^epoch=//p' | tail -n 1); if printf '%s\\n' "$e" | grep -Eqx '0|[1-9][0-9]{0,8}' && [ "$e" -le ${MAX_EPOCH} ]; then echo "$e"; else echo invalid; fi; }`,
    `own_mode=$(sed -n 's/^mode=//p' ${shQuote(MODE_FILE)} 2>/dev/null | tail -n 1)`,
    `case $own_mode in ${MODES}) ;; *) own_mode=none ;; esac`,
    `own_epoch=$(epoch_of "$(cat ${shQuote(EPOCH_FILE)} 2>/dev/null || true)")`,
    `[ "$own_epoch" != invalid ] || fail ${shQuote(`fence check: ${OWN_EPOCH_INVALID}`)}`,
    'peer_mode=? peer_epoch=?',
    'case $own_mode in',
    ...OWN_RULES.map((r) => arm(r.own, r)),
    '  *)',
    `    if ! peer_out=$(sh -c ${shQuote(peerStateCommand(s.transfer))} 2>"$tmp/err"); then fail "fence check: ${PEER_UNKNOWN.replace(/"/g, '\\"')} (asking ${s.transfer.host}: $(tail -n 3 "$tmp/err" | tr '\\n' ' '))"; fi`,
    `    section() { printf '%s\\n' "$peer_out" | awk -v start="--- pef $1" '$0 == start { on = 1; next } /^--- pef / { on = 0 } on'; }`,
    `    printf '%s\\n' "$peer_out" | grep -qx -- '--- pef mode' && printf '%s\\n' "$peer_out" | grep -qx -- '--- pef epoch' || fail ${shQuote(`fence check: ${PEER_UNKNOWN} (${s.transfer.host} answered something else; run setup_transfer again)`)}`,
    `    peer_mode=$(section mode | sed -n 's/^mode=//p' | tail -n 1)`,
    `    case $peer_mode in ${MODES}) ;; *) peer_mode=none ;; esac`,
    '    peer_epoch=$(epoch_of "$(section epoch)")',
    `    [ "$peer_epoch" != invalid ] || fail ${shQuote(`fence check: ${PEER_UNKNOWN} (${s.transfer.host} has an invalid epoch file)`)}`,
    '    if [ "$peer_epoch" -gt "$own_epoch" ]; then order=gt; elif [ "$peer_epoch" -lt "$own_epoch" ]; then order=lt; else order=eq; fi',
    '    case "$own_mode:$peer_mode:$order" in',
    ...PAIR_RULES.map((r) => `  ${arm(`${r.own}:${r.peer}:${r.order}`, r)}`),
    '    esac',
    '    ;;',
    'esac',
    'case $action in',
    '  proceed) ;;',
    '  hold) fail "fence check: $why" ;;',
    '  fence)',
    '    now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) fence_err=',
    // The mode first: if the stop fails, the next pass still finds a fenced server and tries again.
    `    printf '%s\\n' ${lines(mode)} | { mkdir -p ${shQuote(PEF_STATE_DIR)} && ${writeFileCommand(MODE_FILE, { mode: '644' })}; } || fence_err="$fence_err mode file;"`,
    `    [ -e ${shQuote(KILL_SWITCH_FILE)} ] || printf '%s\\n' ${lines(killSwitch)} | ${writeFileCommand(KILL_SWITCH_FILE, { mode: '644' })} || fence_err="$fence_err kill-switch;"`,
    ...(s.factsFile === null || factsDir === null
      ? []
      : [
          `    printf '%s\\n' ${lines(renderFactsFile('fenced', s.peer))} | { mkdir -p ${shQuote(factsDir)} && ${writeFileCommand(s.factsFile, { mode: '644' })}; } || fence_err="$fence_err fact file;"`,
        ]),
    `    ${stop} >"$tmp/err" 2>&1 || fence_err="$fence_err stopping ${s.serverService}: $(tail -n 2 "$tmp/err" | tr '\\n' ' ');"`,
    '    if [ -n "$fence_err" ]; then fence_log FAILURE "$why; but it failed:$fence_err"; fail "fence check: fencing this server failed:$fence_err"; fi',
    '    fence_log WARNING "$why"',
    `    record skipped '' "fenced: $why"`,
    '    exit 0 ;;',
    '  stay-fenced)',
    `    if ${status} >/dev/null 2>&1; then`,
    `      if ${stop} >"$tmp/err" 2>&1; then fence_log WARNING ${shQuote(`${s.serverService} was running on this fenced server; stopped it again`)}; else fail "fence check: ${s.serverService} runs on this fenced server and could not be stopped: $(tail -n 2 "$tmp/err" | tr '\\n' ' ')"; fi`,
    '    fi',
    `    record skipped '' "$why"`,
    '    exit 0 ;;',
    'esac',
  ];
}
