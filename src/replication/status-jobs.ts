/**
 * The rules status applies to one replication job's state file (job-state.ts): every job runs at
 * least every `interval_s`, so a last run older than twice that means the job stopped, and a
 * last success older than twice that means its data is stale; a failed last pass is a problem
 * of its own; a job without an interval cannot be judged, which is not healthy either.
 */
import type { JobState } from './job-state.js';

/** How many intervals a job may miss before status calls it stopped (or its data stale). */
export const STALE_INTERVALS = 2;

/** What is wrong with `job` on `host` at `nowS` (the host's clock, seconds since the epoch). */
export function jobProblems(host: string, job: JobState, nowS: number): string[] {
  const name = `${job.job} on ${host}`;
  const problems: string[] = [];
  if (job.result === 'failure')
    problems.push(
      `${job.kind}: ${name} failed${job.lastFailure ? ` at ${job.lastFailure}` : ''}: ${job.error ?? '(no message)'}.`,
    );
  if (job.intervalS === null) {
    problems.push(
      `${name} records no interval_s, so whether it still runs cannot be told: install the host-side jobs (\`pef plan run setup\`).`,
    );
    return problems;
  }
  const limit = STALE_INTERVALS * job.intervalS;
  const ranAgo = ageS(job.lastRun, nowS);
  const succeededAgo = ageS(job.lastSuccess, nowS);
  if (ranAgo === null || ranAgo > limit)
    problems.push(
      `${name} stopped: ${ranAgo === null ? 'it never ran' : `last run ${duration(ranAgo)} ago`}, it should run every ${duration(job.intervalS)}. Check its timer and \`PEF: ${job.job}\` lines in the journal.`,
    );
  else if (succeededAgo === null || succeededAgo > limit)
    problems.push(
      `${job.kind} is stale: ${name} ${succeededAgo === null ? 'never succeeded' : `last succeeded ${duration(succeededAgo)} ago`} (it runs every ${duration(job.intervalS)}).`,
    );
  return problems;
}

/** Seconds from an ISO time to `nowS`; null when there is no (valid) time. */
export function ageS(iso: string | null, nowS: number): number | null {
  if (iso === null) return null;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : Math.max(0, Math.round(nowS - at / 1000));
}

/** A short human duration: 42s, 7m, 3h, 2d. */
export function duration(s: number): string {
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
