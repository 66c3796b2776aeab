/**
 * What a replication job leaves behind on its host, for `status` and for operators: one state file
 * per job and one greppable log line per pass. Host-side jobs (shell scripts generated from the
 * same command builders the tasks use) and the controller's `sync` plan write the same file, so
 * `status` reads one format whoever ran the pass.
 *
 * The state file is `key=value` text (src/util/key-value.ts), written root-safely, in
 * `/var/lib/pef/state/<job>.state`:
 *
 *     job=sync_ca          kind=ca            role=send|receive
 *     result=success|failure|warning|skipped
 *     last_run=<ISO>       last_success=<ISO or empty>   last_failure=<ISO or empty>
 *     error=<one line: the last failure's message, empty after a success>
 *     duration_ms=<N>      bytes=<N bytes moved>         interval_s=<N: the job's schedule>
 *     lag=<N: items the receiver lacks, when the job can count them; empty otherwise>
 *
 * `last_success` survives failures (that is the RPO status reports); `error` is cleared by a success.
 * The log line is `PEF: <job> [SUCCESS|FAILURE|WARNING] <message>`, to syslog/journal (tag `pef`).
 */
import { makeDirCommand } from '../host/files.js';
import { parseKeyValues } from '../util/key-value.js';

/** Where job state files live on a host (root-owned, 0700). */
export const JOB_STATE_DIR = '/var/lib/pef/state';

/** Creates the state directory (and /var/lib/pef above it) root-safely unless it exists; for jobs and record_job. */
export function jobStateDirCommand(): string {
  return `${makeDirCommand('/var/lib/pef', { mode: '0755' })} && ${makeDirCommand(JOB_STATE_DIR, { mode: '0700' })}`;
}

/** What a pass of a job ended as; `skipped`: nothing to do, or not allowed (kill-switch, mode). */
export type JobResult = 'success' | 'failure' | 'warning' | 'skipped';

/** The data kinds status reports on, per flavor: oss has ca and puppetdb; PE adds its databases. */
export type DataKind = 'ca' | 'puppetdb' | 'classification' | 'rbac' | 'orchestrator' | 'secrets' | 'code';

/** One job's state file. */
export interface JobState {
  job: string;
  kind: DataKind;
  role: 'send' | 'receive';
  result: JobResult;
  lastRun: string | null;
  lastSuccess: string | null;
  lastFailure: string | null;
  error: string | null;
  durationMs: number | null;
  bytes: number | null;
  intervalS: number | null;
  lag: number | null;
}

/** The state file of `job`. */
export function jobStatePath(job: string): string {
  return `${JOB_STATE_DIR}/${job}.state`;
}

/** The log line of a pass: `PEF: <job> [SUCCESS|FAILURE|WARNING] <message>`. */
export function jobLogLine(job: string, level: 'SUCCESS' | 'FAILURE' | 'WARNING', message: string): string {
  return `PEF: ${job} [${level}] ${oneLine(message)}`;
}

/** Reads a state file's text; null when it names no job (missing, empty or not pef's). */
export function parseJobState(text: string): JobState | null {
  const kv = parseKeyValues(text);
  const job = kv.get('job');
  const kind = kv.get('kind') as DataKind | undefined;
  const role = kv.get('role');
  const result = kv.get('result');
  if (!job || !kind || (role !== 'send' && role !== 'receive')) return null;
  if (result !== 'success' && result !== 'failure' && result !== 'warning' && result !== 'skipped') return null;
  return {
    job,
    kind,
    role,
    result,
    lastRun: kv.get('last_run') || null,
    lastSuccess: kv.get('last_success') || null,
    lastFailure: kv.get('last_failure') || null,
    error: kv.get('error') || null,
    durationMs: count(kv.get('duration_ms')),
    bytes: count(kv.get('bytes')),
    intervalS: count(kv.get('interval_s')),
    lag: count(kv.get('lag')),
  };
}

/** A state file's text (the controller's `sync` plan writes it with writeFileCommand). */
export function renderJobState(state: JobState): string {
  return [
    '# pef replication job state; read by `pef status`. Written by the job after every pass.',
    `job=${state.job}`,
    `kind=${state.kind}`,
    `role=${state.role}`,
    `result=${state.result}`,
    `last_run=${state.lastRun ?? ''}`,
    `last_success=${state.lastSuccess ?? ''}`,
    `last_failure=${state.lastFailure ?? ''}`,
    `error=${oneLine(state.error ?? '')}`,
    `duration_ms=${state.durationMs ?? ''}`,
    `bytes=${state.bytes ?? ''}`,
    `interval_s=${state.intervalS ?? ''}`,
    `lag=${state.lag ?? ''}`,
    '',
  ].join('\n');
}

function count(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  return Number(text);
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}
