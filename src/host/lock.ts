/**
 * Locks on a host, always under pef's root-only run dir (never /run/lock or /tmp, where any local
 * user could hold one forever). Two kinds:
 * - held across commands (`lockAcquireCommand` / `lockReleaseCommand`): restore_db keeps the
 *   restore lock from its first change to its cleanup, over many commands;
 * - held for one command (`withLockCommand`): a task step that must not overlap a host-side
 *   replication pass takes the job's own lock (`jobLockPath`) around the command.
 */
import { parseKeyValues } from '../util/key-value.js';
import { shQuote } from '../util/shell-quote.js';
import { ensureRootDirLines } from './root-dir.js';

/** The exit status of a `withLockCommand` that did not get its lock in time. */
export const LOCK_TIMEOUT_EXIT = 75;

/**
 * Runs `command` (in `sh -c`) holding `lockFile`, waiting at most `waitS` seconds for it. The
 * lock's directory must be (or becomes) root-owned 0700. When the lock stays taken, nothing runs:
 * exit 75 and a message naming the lock and `holder` (what usually holds it) on stderr.
 */
export function withLockCommand(lockFile: string, command: string, options: { waitS: number; holder: string }): string {
  const dir = lockFile.slice(0, lockFile.lastIndexOf('/')) || '/';
  const lock = shQuote(lockFile);
  const busy = `${lockFile} stayed taken for ${options.waitS} s (${options.holder}); nothing was run: try again once it is done`;
  return [
    `if ! out=$(${ensureRootDirLines(dir).join('; ')}); then echo "\${out#error=}" >&2; exit 1; fi`,
    `flock -w ${options.waitS} -E ${LOCK_TIMEOUT_EXIT} ${lock} sh -c ${shQuote(command)}`,
    'rc=$?',
    `if [ "$rc" = ${LOCK_TIMEOUT_EXIT} ]; then echo ${shQuote(busy)} >&2; fi`,
    'exit "$rc"',
  ].join('\n');
}

/**
 * Takes a lock and keeps it after the command returns: a detached `flock` holds it
 * while a `sleep` runs (at most `seconds`); killing that sleep releases it (`lockReleaseCommand`,
 * which a task's cleanup runs, also after Ctrl-C). The lock's directory must be root-owned 0700
 * (`ensureRootDirLines`). Prints `locked=<pid of the sleep>` (and `stale=<old holder>` when a
 * holder that is gone left its line behind: the lock is taken over), or `busy=<pid> <since>
 * <owner>` when a live holder has it. The lock file holds `<pid> <since> <owner>` while held.
 */
export function lockAcquireCommand(lockFile: string, seconds: number, owner: string): string {
  const holder = `echo "$$ $(date -u +%Y-%m-%dT%H:%M:%SZ) $3" > "$1"; echo $$ > "$2"; exec sleep "$4"`;
  const dir = lockFile.slice(0, lockFile.lastIndexOf('/')) || '/';
  return [
    ...ensureRootDirLines(dir),
    `lock=${shQuote(lockFile)}`,
    // The file is root's, in a root-only dir: what it says was written by a pef holder.
    'old=$(cat "$lock" 2>/dev/null || true)',
    'ready=$(mktemp)',
    `setsid -w flock -n -E 75 "$lock" sh -c ${shQuote(holder)} sh "$lock" "$ready" ${shQuote(owner)} ${seconds} </dev/null >/dev/null 2>&1 &`,
    'h=$!',
    'i=0',
    'while [ ! -s "$ready" ] && kill -0 "$h" 2>/dev/null && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done',
    'if [ -s "$ready" ]; then echo "locked=$(cat "$ready")"; [ -n "$old" ] && echo "stale=$old"; rm -f "$ready"; exit 0; fi',
    'rm -f "$ready"',
    'if kill -0 "$h" 2>/dev/null; then kill "$h"; echo "error=the lock holder did not start within 30 s"; exit 1; fi',
    'wait "$h"; rc=$?',
    'if [ "$rc" -eq 75 ]; then echo "busy=$(cat "$lock" 2>/dev/null)"; exit 0; fi',
    'echo "error=flock exited $rc"; exit 1',
  ].join('\n');
}

/**
 * Releases the lock taken by `lockAcquireCommand` with `owner` and checks it: ends the holder,
 * waits (up to 10 s) until the lock can be taken, and empties the file under the lock (so the
 * next holder does not see a stale line). Prints `released=1` once checked, `released=0 <why>`
 * (exit 1) when the holder is still there; `released=1` too when `owner` did not hold it.
 */
export function lockReleaseCommand(lockFile: string, owner: string): string {
  return [
    `lock=${shQuote(lockFile)}`,
    'set -- $(cat "$lock" 2>/dev/null)',
    `if [ "\${3:-}" != ${shQuote(owner)} ]; then echo "released=1 (not held by this run)"; exit 0; fi`,
    'kill "$1" 2>/dev/null || true',
    'i=0',
    `while [ "$i" -lt 100 ]; do if flock -n "$lock" sh -c ': > "$1"' sh "$lock"; then echo released=1; exit 0; fi; sleep 0.1; i=$((i + 1)); done`,
    'echo "released=0 the holder (pid $1) still holds $lock after 10 s; end it with: kill $1"',
    'exit 1',
  ].join('\n');
}

/** The result of `lockAcquireCommand`. */
export type LockResult = { locked: true; pid: number; stale?: string } | { locked: false; holder: string };

/** Reads `lockAcquireCommand`'s output. */
export function parseLock(stdout: string): LockResult {
  const kv = parseKeyValues(stdout);
  const pid = Number(kv.get('locked'));
  const stale = kv.get('stale');
  if (Number.isInteger(pid) && pid > 0) return stale ? { locked: true, pid, stale } : { locked: true, pid };
  return { locked: false, holder: kv.get('busy') ?? kv.get('error') ?? stdout.trim() };
}
