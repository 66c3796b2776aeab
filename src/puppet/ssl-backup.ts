/**
 * Backing up a replica's ssldir before sync_ca replaces its certificate, and putting it back.
 * Backups are never overwritten: each run copies to `<ssldir>.pef-backup-<stamp>.partial`,
 * renames that to `.pending` once complete and checked, and to `<ssldir>.pef-backup-<stamp>`
 * when the run is over (succeeded, or failed and put back). A `.pending` backup found at the
 * start is a run that died mid-change: the task stops and says what to do. A `.partial` one
 * died while copying, before anything changed, and is removed.
 */
import { shQuote } from '../util/shell-quote.js';
import { caDigestCommand } from './ca-dir.js';

/** The names one run's backup goes through. */
export function sslBackupPaths(ssldir: string, stamp: string) {
  const done = `${ssldir}.pef-backup-${stamp}`;
  return { partial: `${done}.partial`, pending: `${done}.pending`, done, failed: `${ssldir}.pef-failed-${stamp}` };
}

/** Removes backups that died while copying (ssldir untouched then); prints `pending=<path>` for each backup of a run that died mid-change. */
export function leftoverBackupsCommand(ssldir: string): string {
  const q = shQuote(ssldir);
  return [
    `for b in ${q}.pef-backup-*.partial; do [ -d "$b" ] && rm -rf -- "$b" && echo "removed=$b"; done`,
    `for b in ${q}.pef-backup-*.pending; do [ -d "$b" ] && echo "pending=$b"; done`,
    'true',
  ].join('\n');
}

/** Copies ssldir to the `.partial` name, checks the copy's digest against the original's, renames it `.pending`; prints `digest=`. */
export function backupSslCommand(ssldir: string, stamp: string): string {
  const p = sslBackupPaths(ssldir, stamp);
  const q = { ssldir: shQuote(ssldir), partial: shQuote(p.partial), pending: shQuote(p.pending) };
  return [
    'set -e',
    `cp -a ${q.ssldir} ${q.partial}`,
    `want=$(${caDigestCommand(ssldir)})`,
    `got=$(${caDigestCommand(p.partial)})`,
    `if [ -z "$want" ] || [ "$want" != "$got" ]; then rm -rf -- ${q.partial}; echo "the copy of ${ssldir} does not match it" >&2; exit 3; fi`,
    `mv -T ${q.partial} ${q.pending}`,
    'echo "digest=$want"',
  ].join('\n');
}

/**
 * Puts the `.pending` backup back: the changed ssldir is moved aside (`.pef-failed-<stamp>`), a copy
 * of the backup takes its place, and only if its digest is `digest` (the one taken before the
 * change) are the moved-aside copy removed and the backup renamed done. Prints `restored=yes`.
 */
export function restoreSslCommand(ssldir: string, stamp: string, digest: string): string {
  const p = sslBackupPaths(ssldir, stamp);
  const q = { ssldir: shQuote(ssldir), pending: shQuote(p.pending), failed: shQuote(p.failed), done: shQuote(p.done) };
  return [
    'set -e',
    `[ -d ${q.pending} ]`,
    `if [ -e ${q.ssldir} ]; then mv -T ${q.ssldir} ${q.failed}; fi`,
    `cp -a ${q.pending} ${q.ssldir}`,
    `got=$(${caDigestCommand(ssldir)})`,
    `if [ "$got" != ${shQuote(digest)} ]; then echo "${ssldir} after the copy back has digest $got, not ${digest}" >&2; exit 3; fi`,
    `rm -rf -- ${q.failed}`,
    `mv -T ${q.pending} ${q.done}`,
    'echo restored=yes',
  ].join('\n');
}

/** Marks the run's backup as finished (kept under its final name). */
export function finishBackupCommand(ssldir: string, stamp: string): string {
  const p = sslBackupPaths(ssldir, stamp);
  return `mv -T ${shQuote(p.pending)} ${shQuote(p.done)}`;
}
