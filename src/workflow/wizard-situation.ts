/**
 * What `pef failover` (the wizard) offers, judged from the status document (the status plan's
 * reading of both servers). Pure, so the rules can be read and tested without hosts:
 *
 * - the active server cannot be logged in to and answers on 8140 nowhere → a failover;
 * - both up, the active one serving agents → a switchover (planned, RPO 0);
 * - the active server is reachable (or fenced) but not serving, or answers without a login → ask;
 * - no spare to promote (unreadable, or the modes cannot tell which server is which) → blocked.
 *
 * Which server is active comes from the modes, as the failover plan reads them
 * (failoverDirection), not from the inventory's roles. The wizard only chooses which plan to
 * offer: the plan's own checks (two views of the primary, partitions, fencing) still decide
 * whether it may run, so a wrong guess here is refused there, never acted on.
 */
import type { StatusDocument } from '../replication/status.js';
import { ageS } from '../replication/status-jobs.js';
import type { DataKind } from '../replication/job-state.js';
import { failoverDirection, type FailoverReading } from './failover-checks.js';

/** The two workflow plans the wizard drives. */
export type WizardMode = 'switchover' | 'failover';

/** The RPO at stake for one data kind: how old the spare's copy is (null: unknown). */
export interface StakeRow {
  kind: DataKind;
  last_success: string | null;
  age_s: number | null;
}

/** The wizard's reading of the pair; see the file comment. */
export interface Situation {
  offer: WizardMode | 'ask' | 'blocked';
  /** The server active now (failed over or switched from); null when the modes cannot tell. */
  active: string | null;
  /** The server that becomes active. */
  spare: string | null;
  /** One sentence: why this offer. */
  reason: string;
  /** Problems of the spare shown before anything else (behind, a failed pass, never received). */
  spareWarnings: string[];
  /** Per data kind, the age of the spare's copy (what a failover now would lose). */
  stake: StakeRow[];
}

/** Whether probe_status could read `name` (status leaves its own 8140 view null when it could not). */
export function readable(doc: StatusDocument, name: string): boolean {
  const own = doc.answers_8140[name]?.[name];
  return own !== null && own !== undefined;
}

/** Whether `name` answered /status/v1/simple when asked from either server. */
export function serving(doc: StatusDocument, name: string): boolean {
  return Object.values(doc.answers_8140[name] ?? {}).some((a) => a === true);
}

/** Judges the pair; `servers` are the inventory's primary and replica names. */
export function assessSituation(doc: StatusDocument, servers: readonly [string, string]): Situation {
  const readings: Record<string, FailoverReading> = {};
  for (const s of servers) readings[s] = readable(doc, s) ? (doc.modes[s] ?? null) : 'unreadable';
  let direction: { from: string; to: string };
  try {
    direction = failoverDirection(servers, readings);
  } catch (error) {
    return {
      offer: 'blocked',
      active: doc.active,
      spare: null,
      reason: (error as Error).message,
      spareWarnings: [],
      stake: [],
    };
  }
  const { from, to } = direction;
  const base = { active: from, spare: to, spareWarnings: spareWarnings(doc, to), stake: stake(doc, to) };
  const up = readable(doc, from);
  const serves = serving(doc, from);
  if (!up && !serves)
    return {
      ...base,
      offer: 'failover',
      reason: `${from} cannot be logged in to and answers on 8140 nowhere: it looks down`,
    };
  if (!up)
    return {
      ...base,
      offer: 'ask',
      reason: `${from} answers on 8140 but pef cannot log in to it (to fence it)`,
    };
  if (doc.modes[from] === 'fenced')
    return { ...base, offer: 'failover', reason: `${from} is fenced: ${to} can take over` };
  if (!serves)
    return {
      ...base,
      offer: 'ask',
      reason: `${from} is reachable but its Puppet Server does not answer on 8140`,
    };
  return { ...base, offer: 'switchover', reason: `both servers are up and ${from} serves agents` };
}

// What the spare lacks, from the data rows status judged (the receive side's own state files).
function spareWarnings(doc: StatusDocument, spare: string): string[] {
  const warnings: string[] = [];
  for (const row of doc.data) {
    if (row.error !== null) warnings.push(`${row.kind}: the last pass failed: ${row.error}`);
    if (row.lag !== null && row.lag > 0) warnings.push(`${row.kind}: ${spare} lacks ${row.lag} item(s)`);
  }
  if (!readable(doc, spare)) warnings.unshift(`${spare} cannot be read: there may be nothing to fail over to`);
  return warnings;
}

// The spare's receive jobs, per kind the oldest last success: what it holds as of when.
function stake(doc: StatusDocument, spare: string): StakeRow[] {
  const nowS = Date.parse(doc.checked_at) / 1000;
  const byKind = new Map<DataKind, (string | null)[]>();
  for (const job of doc.jobs)
    if (job.host === spare && job.role === 'receive')
      byKind.set(job.kind, [...(byKind.get(job.kind) ?? []), job.last_success]);
  for (const row of doc.data) if (!byKind.has(row.kind)) byKind.set(row.kind, []);
  return [...byKind].map(([kind, successes]) => {
    const known = successes.filter((s): s is string => s !== null).sort();
    const last = successes.length > 0 && known.length === successes.length ? (known[0] ?? null) : null;
    return { kind, last_success: last, age_s: ageS(last, nowS) };
  });
}
