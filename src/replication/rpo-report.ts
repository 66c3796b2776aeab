/**
 * The data a failover could not carry: for each data kind, how old the spare's copy is, from the
 * spare's own receive-job state files (job-state.ts) read at failover time. That age is the RPO
 * actually suffered: whatever the primary took in after the last successful pass is not on the
 * promoted server. Read from the spare, not the primary, because the primary is usually gone and
 * because what counts is what the spare holds. PuppetDB on oss has no passes (the primary's
 * terminus broadcast every command to both PuppetDBs): its row says so instead of an age.
 */
import type { DataKind } from './job-state.js';
import { REQUIRED_KINDS } from './status.js';
import type { StatusProbe } from './status-probe.js';
import { ageS, duration } from './status-jobs.js';

/** One kind's loss window. */
export interface RpoRow {
  kind: DataKind;
  /** When the spare last received this kind (null: never, or unknown). */
  last_success: string | null;
  /** Seconds between that and the failover (the spare's clock); null when unknown. */
  age_s: number | null;
  /** The last pass's result and error, as the state file says. */
  result: 'success' | 'failure' | 'warning' | 'skipped' | null;
  error: string | null;
  /** How to read the row, for the operator. */
  note: string;
}

/** Every kind the spare should hold, with the age of its copy; see the file comment. */
export function rpoReport(spare: StatusProbe, nowS: number = spare.now ?? Date.now() / 1000): RpoRow[] {
  const received = spare.jobs.flatMap((j) => (j.state && j.state.role === 'receive' ? [j.state] : []));
  const kinds = new Set<DataKind>([...REQUIRED_KINDS[spare.flavor], ...received.map((j) => j.kind)]);
  const rows: RpoRow[] = [...kinds].map((kind) => {
    const jobs = received.filter((j) => j.kind === kind);
    // Several jobs of one kind: the spare holds the kind as of the oldest of their last successes.
    const successes = jobs.map((j) => j.lastSuccess);
    const known = successes.filter((s): s is string => s !== null && !Number.isNaN(Date.parse(s))).sort();
    const last = jobs.length > 0 && known.length === jobs.length ? (known[0] ?? null) : null;
    const age = ageS(last, nowS);
    const failed = jobs.find((j) => j.result === 'failure');
    const result = failed ? 'failure' : (jobs[0]?.result ?? null);
    return {
      kind,
      last_success: last,
      age_s: age,
      result,
      error: failed?.error ?? null,
      note:
        jobs.length === 0
          ? `no ${kind} receive job on the spare: how old its ${kind} is cannot be told`
          : age === null
            ? `${kind} never arrived on the spare`
            : `anything the primary's ${kind} gained in the last ${duration(age)} before the failover is lost`,
    };
  });
  if (spare.flavor === 'oss')
    rows.push({
      kind: 'puppetdb',
      last_success: null,
      age_s: null,
      result: null,
      error: null,
      note: 'streamed (command_broadcast): the spare got every command the primary accepted while both were up; commands it missed while unreachable are lost',
    });
  return rows;
}
