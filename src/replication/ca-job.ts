/**
 * The CA's continuous replication, as two host-side jobs built from the commands sync_ca uses:
 *
 * - `sync_ca` on the primary (send): when the cadir changes (and every interval), and only when
 *   this host may send (kill-switch, mode), takes the CA's stamp (caStampCommand: no file read);
 *   unless that stamp was already delivered, rsyncs the cadir (without ca_key.pem, which never
 *   changes after setup and only the sync_ca task sends) into the replica's staging dir through
 *   the write-only transfer channel, takes the CA digest, checks by the stamp that the CA did not
 *   change meanwhile, then delivers the digest as the ready file `incoming/ca-ready/digest`. Both
 *   rsyncs share one ssh connection, ended with the pass.
 * - `receive_ca` on the replica (receive): when the ready file changes (and every interval), and
 *   only when this host may receive, installs the staged copy with the primary's key taken from
 *   its own cadir, checked against the delivered digest and swapped in atomically
 *   (installCaCommand, incremental). The staged copy stays, so the next pass moves only deltas.
 *   It records the digest it installed with the cadir's stamp, so while the cadir is untouched a
 *   pass knows what it holds from a stamp instead of a digest of its own cadir.
 */
import { readRegularFileCommand, writeFileCommand } from '../host/files.js';
import { caDigestCommand, caStampCommand, installCaCommand } from '../puppet/ca-dir.js';
import { replicationDisabledCheck } from '../puppet/mode.js';
import {
  rsyncToReceiver,
  transferMasterStart,
  transferMasterStop,
  transferPaths,
  type TransferSettings,
} from '../puppet/transfer.js';
import { shQuote } from '../util/shell-quote.js';
import { fenceCheckLines, type FenceSettings } from './fence-check.js';
import { JOB_STATE_DIR } from './job-state.js';
import { jobScript, step, type JobSpec } from './job-script.js';

/** The staging dir name of the CA under the receiver's `incoming/`, and of its ready file. */
export const CA_STAGE = 'ca';
const READY_DIR = 'ca-ready';

/** What the CA jobs need to know about the pair; install_replication reads it from the hosts. */
export interface CaJobSettings {
  /** The primary's cadir. */
  primaryCadir: string;
  /** The replica's cadir. */
  replicaCadir: string;
  /** Owner:group of the CA files (the primary's). */
  owner: string;
  transfer: TransferSettings;
  intervalS: number;
  /** What the sender's fence check needs besides the transfer channel. */
  fence: Omit<FenceSettings, 'transfer'>;
}

/** The ready file on the receiver, which the sender rewrites after each delivery. */
export function caReadyFile(transfer: TransferSettings): string {
  return `${transferPaths(transfer).incoming}/${READY_DIR}/digest`;
}

/** Paths whose change triggers a pass: the sender's CA files, the receiver's ready file's dir. */
export function caWatchPaths(role: 'send' | 'receive', s: CaJobSettings): string[] {
  if (role === 'receive') return [`${transferPaths(s.transfer).incoming}/${READY_DIR}`];
  return ['inventory.txt', 'serial', 'ca_crl.pem', 'signed'].map((f) => `${s.primaryCadir}/${f}`);
}

const BUILDERS = {
  send: [
    'fenceCheckLines (src/replication/fence-check.ts)',
    'replicationDisabledCheck (src/puppet/mode.ts)',
    'caStampCommand, caDigestCommand (src/puppet/ca-dir.ts)',
    'rsyncToReceiver, transferSsh, transferMasterStart, transferMasterStop (src/puppet/transfer.ts)',
    'writeFileCommand (src/host/files.ts)',
  ],
  receive: [
    'replicationDisabledCheck (src/puppet/mode.ts)',
    'readRegularFileCommand (src/host/files.ts)',
    'caStampCommand, caDigestCommand, installCaCommand (src/puppet/ca-dir.ts)',
    'writeFileCommand (src/host/files.ts)',
  ],
} as const;

/** The job's spec (name, kind, role, interval). */
export function caJobSpec(role: 'send' | 'receive', intervalS: number): JobSpec {
  return {
    job: role === 'send' ? 'sync_ca' : 'receive_ca',
    kind: 'ca',
    role,
    intervalS,
    builders: BUILDERS[role],
  };
}

// The pass's shared ssh connection, in the job's private temp dir (ssh expands ${tmp} itself).
const CONTROL_PATH = '${tmp}/cm';

/** The primary's `sync_ca` job script. */
export function caSendScript(s: CaJobSettings): string {
  const delivered = `${JOB_STATE_DIR}/sync_ca.delivered`;
  const stamp = caStampCommand(s.primaryCadir);
  const to = `${s.transfer.user}@${s.transfer.host}`;
  const shared = { compress: true, controlPath: CONTROL_PATH };
  return jobScript(caJobSpec('send', s.intervalS), [
    ...fenceCheckLines('sync_ca', { ...s.fence, transfer: s.transfer }),
    `if ! sh -c ${shQuote(replicationDisabledCheck('send'))} 2>"$tmp/err"; then skip "$(cat "$tmp/err")"; fi`,
    step(`reading the CA stamp of ${s.primaryCadir}`, stamp),
    `[ -n "$out" ] || fail ${shQuote(`no CA in ${s.primaryCadir}`)}`,
    '# Skipped while the stamp is the one delivered; after 10 minutes the CA goes again anyway (an rsync',
    '# with nothing to move and a digest), so a delivery the receiver refused heals on its own.',
    `if [ "$out" = "$(cat ${shQuote(delivered)} 2>/dev/null || true)" ] && [ -n "$(find ${shQuote(delivered)} -mmin -10 2>/dev/null)" ]; then bytes=0; record success '' ''; exit 0; fi`,
    '# One ssh connection for the pass: started here, ended when the pass ends (whatever happens).',
    transferMasterStart(s.transfer, CONTROL_PATH, { compress: true }),
    `on_exit=${shQuote(transferMasterStop(s.transfer, CONTROL_PATH))}`,
    '# A CA that changes during the copy is copied again: the digest must describe what was sent.',
    'tries=0',
    'while :; do',
    '  before=$out',
    `  ${step(
      `rsync of ${s.primaryCadir} to ${to}`,
      rsyncToReceiver(s.transfer, s.primaryCadir, CA_STAGE, { exclude: ['/ca_key.pem'], stats: true, ...shared }),
    )}`,
    `  bytes=$(( \${bytes:-0} + $(printf '%s\\n' "$out" | sed -n 's/^Total bytes sent: //p' | tr -dc 0-9) + 0 ))`,
    `  ${step(`reading the CA digest of ${s.primaryCadir}`, caDigestCommand(s.primaryCadir))}`,
    '  want=$out',
    `  ${step(`reading the CA stamp of ${s.primaryCadir}`, stamp)}`,
    '  [ "$out" != "$before" ] || break',
    '  tries=$((tries + 1))',
    `  [ "$tries" -lt 3 ] || fail 'the CA kept changing during the copy; the next pass sends it again'`,
    'done',
    `mkdir "$tmp/ready" && printf '%s\\n' "$want" >"$tmp/ready/digest"`,
    step(
      `delivering the ready file to ${to}`,
      rsyncToReceiver(s.transfer, '"$tmp/ready"', READY_DIR, { shellSource: true, ...shared }),
    ),
    `printf '%s\\n' "$before" | ${writeFileCommand(delivered, { mode: '0600' })} || true`,
    `record success SUCCESS "CA $(printf %.12s "$want") sent to ${s.transfer.host} ($bytes bytes)"`,
  ]);
}

/** The replica's `receive_ca` job script. */
export function caReceiveScript(s: CaJobSettings): string {
  const incoming = transferPaths(s.transfer).incoming;
  const ready = caReadyFile(s.transfer);
  // `DIGEST STAMP` of the last install: while the cadir's stamp is unchanged, it holds that digest.
  const installed = `${JOB_STATE_DIR}/receive_ca.installed`;
  const stamp = caStampCommand(s.replicaCadir);
  return jobScript(caJobSpec('receive', s.intervalS), [
    `if ! sh -c ${shQuote(replicationDisabledCheck('receive'))} 2>"$tmp/err"; then skip "$(cat "$tmp/err")"; fi`,
    `if [ ! -e ${shQuote(ready)} ]; then record skipped '' 'nothing delivered yet'; exit 0; fi`,
    '# Written by the transfer user: read without following a link, and only a digest is accepted.',
    step(`reading ${ready}`, readRegularFileCommand(ready)),
    `want=$(printf '%s\\n' "$out" | head -n 1)`,
    `case $want in *[!0-9a-f]* | '') fail ${shQuote(`${ready} does not hold a digest`)} ;; esac`,
    `[ "\${#want}" -eq 64 ] || fail ${shQuote(`${ready} does not hold a digest`)}`,
    step(`reading the CA stamp of ${s.replicaCadir}`, stamp),
    `rec=$(cat ${shQuote(installed)} 2>/dev/null || true)`,
    '# The recorded digest holds only while the cadir is untouched since (same stamp); else it is read.',
    'if [ -n "$out" ] && [ "${rec#* }" = "$out" ]; then have=${rec%% *}; else',
    `  ${step(`reading the CA digest of ${s.replicaCadir}`, caDigestCommand(s.replicaCadir))}`,
    '  have=$out',
    'fi',
    `if [ "$have" = "$want" ]; then record success '' ''; exit 0; fi`,
    '# A digest mismatch (exit 3) may be a sender still copying: its next delivery triggers another pass.',
    'tries=0',
    `until sh -c ${shQuote(installCaCommand(`${incoming}/${CA_STAGE}`, s.replicaCadir, s.owner, '$1', { incremental: true }).replaceAll(`'$1'`, '"$1"'))} _ "$want" 2>"$tmp/err"; do`,
    '  rc=$? tries=$((tries + 1))',
    `  if [ "$rc" != 3 ] || [ "$tries" -ge 3 ]; then fail "installing the CA in ${s.replicaCadir}: $(tail -n 3 "$tmp/err" | tr '\\n' ' ')"; fi`,
    '  sleep 1',
    'done',
    step(`reading the CA stamp of ${s.replicaCadir}`, stamp),
    `printf '%s %s\\n' "$want" "$out" | ${writeFileCommand(installed, { mode: '0600' })} || true`,
    `record success SUCCESS "CA $(printf %.12s "$want") installed in ${s.replicaCadir}"`,
  ]);
}
