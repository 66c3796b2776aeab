/**
 * The frame every host-side replication job shares: a POSIX sh script that records each pass in
 * its state file and log line (job-state.ts), holds a root-only lock so two passes never overlap,
 * and runs the pass's steps, each a command text from the builders the tasks use, in its own
 * `sh -c` (so a builder's `set -e` and `exit` keep their meaning). A step that fails records
 * `result=failure` with its last stderr lines and keeps `last_success`; a pass that is not allowed
 * (kill-switch, mode) records `result=skipped` with a WARNING line. Nothing is installed here:
 * install_replication writes the text this module builds.
 */
import { PefError } from '../errors/pef-error.js';
import { writeFileCommand } from '../host/files.js';
import { withLockCommand } from '../host/lock.js';
import { ensureRootDirLines, PEF_RUN_DIR } from '../host/root-dir.js';
import { shQuote } from '../util/shell-quote.js';
import type { DataKind, JobResult, JobState } from './job-state.js';
import { JOB_STATE_DIR, jobLogLine, jobStateDirCommand, jobStatePath, renderJobState } from './job-state.js';

/** What a job is; its name is also the script's, the units' and the lock's. */
export interface JobSpec {
  job: string;
  kind: DataKind;
  role: 'send' | 'receive';
  /** Seconds between timer passes (status calls a job stale after twice this). */
  intervalS: number;
  /** The builders the body's steps come from, named in the script's header. */
  builders: readonly string[];
}

/** Where install_replication puts a job's script. */
export function jobScriptPath(job: string): string {
  return `/usr/local/sbin/pef-job-${checkJobName(job)}`;
}

/** The lock a job's passes take (root-only /run/pef, never a world-writable lock dir). */
export function jobLockPath(job: string): string {
  return `${PEF_RUN_DIR}/job-${checkJobName(job)}.lock`;
}

/**
 * `command` run holding `job`'s lock, so a task step never overlaps a pass of that host-side job
 * (both would write the same staging dir or cadir). Waits up to two minutes for a running pass.
 */
export function underJobLock(job: string, command: string): string {
  return withLockCommand(jobLockPath(job), command, { waitS: 120, holder: `a pass of the host-side ${job} job` });
}

/** A job name as scripts, units and state files use it. */
export function checkJobName(job: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(job))
    throw new PefError('pef/internal', `not a job name: ${JSON.stringify(job)}`, { job });
  return job;
}

/** `step WHAT COMMAND`: runs COMMAND (a builder's text) in `sh -c`; its stdout lands in `$out`. */
export function step(what: string, command: string): string {
  return `step ${shQuote(what)} ${shQuote(command)}`;
}

// A shell word built from a template whose sentinels @@name@@ (for the `names` given) become "$name".
function withVars(text: string, names: readonly string[]): string {
  // Always single-quoted (shQuote leaves safe words bare), so each sentinel closes and reopens the quotes.
  return `'${text.replace(/'/g, `'\\''`)}'`.replace(/@@([a-z_]+)@@/g, (whole, name: string) =>
    names.includes(name) ? `'"$${name}"'` : whole,
  );
}
const v = (name: string): string => `@@${name}@@`;

/** The host's time as the state files hold it (UTC, milliseconds), for `now=$(…)`. */
export const NOW_COMMAND = 'date -u +%Y-%m-%dT%H:%M:%S.%3NZ';

/**
 * `state`'s file text as shell words for `printf '%s\n'`, from the one renderer status reads;
 * a field given as `hostValue(name)` is the host's shell variable `$name` when the words run.
 */
export function stateWords(state: JobState, names: readonly string[]): string[] {
  return renderJobState(state)
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => {
      // Only a whole value is a variable: a message that spells a sentinel stays text.
      const field = /^([a-z_]+=)@@([a-z_]+)@@$/.exec(line);
      return field?.[1] !== undefined && field[2] !== undefined && names.includes(field[2])
        ? `${field[1]}"$${field[2]}"`
        : shQuote(line);
    });
}

/** A state field filled in on the host from its shell variable `name` (see stateWords). */
export function hostValue(name: string): string {
  return v(name);
}

/**
 * The state file's lines as shell words for `printf '%s\n'`, from the one renderer status reads
 * against; `$result $now $last_success $last_failure $error $duration $bytes` fill them in.
 */
export function jobStateWords(spec: JobSpec): string[] {
  return stateWords(
    {
      job: checkJobName(spec.job),
      kind: spec.kind,
      role: spec.role,
      result: v('result') as JobResult,
      lastRun: v('now'),
      lastSuccess: v('last_success'),
      lastFailure: v('last_failure'),
      error: v('error'),
      durationMs: v('duration') as unknown as number,
      bytes: v('bytes') as unknown as number,
      intervalS: spec.intervalS,
      lag: null,
    },
    ['result', 'now', 'last_success', 'last_failure', 'error', 'duration', 'bytes'],
  );
}

/** The whole script of a job: the frame around `body` (shell lines run after the lock is taken). */
export function jobScript(spec: JobSpec, body: readonly string[]): string {
  const job = checkJobName(spec.job);
  const state = jobStatePath(job);
  const stateLines = jobStateWords(spec);
  const logLine = withVars(jobLogLine(job, v('level') as 'SUCCESS', v('msg')), ['level', 'msg']);
  return [
    '#!/bin/sh',
    `# pef replication job ${job} (${spec.role} ${spec.kind}), every ${spec.intervalS} s and when its watched paths change.`,
    '# Generated by pef (install_replication) from src/replication/job-script.ts with the command',
    `# builders ${spec.builders.join(', ')}. Do not edit: install_replication rewrites it.`,
    'set -eu',
    'PATH=/opt/puppetlabs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'LC_ALL=C',
    'export PATH LC_ALL',
    'umask 077',
    `started=$(date +%s%3N) recorded='' bytes='' on_exit=''`,
    'tmp=$(mktemp -d -t pef-job.XXXXXX)',
    'export tmp',
    '',
    '# The log line, to syslog/journal (tag pef) and stderr.',
    `log() { level=$1 msg=$2; logger -t pef -- ${logLine} 2>/dev/null || true; printf '%s\\n' ${logLine} >&2; }`,
    `prev() { sed -n "s/^$1=//p" ${shQuote(state)} 2>/dev/null | tail -n 1; }`,
    '# record RESULT LEVEL MESSAGE: the state file (last_success survives a failure); LEVEL empty: no log line.',
    'record() {',
    `  result=$1 now=$(${NOW_COMMAND}) msg=$(printf '%s' "$3" | tr '\\r\\n' '  ')`,
    `  last_success=$(prev last_success) last_failure=$(prev last_failure) error=''`,
    '  case $result in success | warning) last_success=$now ;; failure) last_failure=$now error=$msg ;; esac',
    '  duration=$(($(date +%s%3N) - started))',
    `  { { [ -d ${JOB_STATE_DIR} ] || { ${jobStateDirCommand()}; }; } && printf '%s\\n' \\`,
    ...stateLines.map((l) => `    ${l} \\`),
    `    | ${writeFileCommand(state, { mode: '0600' })}`,
    `  } || printf 'pef: could not write %s\\n' ${shQuote(state)} >&2`,
    '  recorded=1',
    '  if [ -n "$2" ]; then log "$2" "$msg"; fi',
    '}',
    'fail() { record failure FAILURE "$1"; exit 1; }',
    'skip() { record skipped WARNING "$1"; exit 0; }',
    `step() { if ! out=$(sh -c "$2" 2>"$tmp/err"); then fail "$1: $(tail -n 3 "$tmp/err" | tr '\\n' ' ')"; fi; }`,
    '# on_exit: what the body started and the pass must end (a shared ssh connection), run first.',
    `trap 'rc=$?; eval "$on_exit"; rm -rf -- "$tmp"; if [ "$rc" != 0 ] && [ -z "$recorded" ]; then record failure FAILURE "pass aborted (exit $rc)"; fi' EXIT`,
    '',
    '# One pass at a time: a pass that finds the lock taken leaves (the running one records).',
    `if ! out=$(${ensureRootDirLines(PEF_RUN_DIR).join('; ')}); then fail "\${out#error=}"; fi`,
    `exec 9>${shQuote(jobLockPath(job))}`,
    `if ! flock -n 9; then recorded=1; echo "pef: another pass of ${job} is running" >&2; exit 0; fi`,
    '',
    ...body,
    '',
  ].join('\n');
}
