/**
 * The pair's replication status, judged from what the probe (status-probe.ts) read on both
 * servers: which server is active (by its mode and by what answers on 8140), each data kind's last
 * success, age, error and lag, the kill-switch and modes, code drift and, on oss, whether the
 * active server's PuppetDB terminus broadcasts to the spare.
 *
 * Unknown is not healthy: an unreadable host, a refused or unreadable state file, a job the flavor
 * needs but the host lacks, a job without a schedule, each is a problem, and any problem makes
 * `healthy` false. A job is stopped when its last run is older than twice its interval (every job
 * runs at least that often), and a kind is stale when its last success is.
 */
import type { EpochReading } from '../puppet/epoch.js';
import type { FailoverMode } from '../puppet/mode.js';
import { JOB_STATE_DIR, type DataKind, type JobState } from './job-state.js';
import type { ProbedJob, StatusProbe } from './status-probe.js';
import { jobProblems } from './status-jobs.js';

/** One server as status read it: its probe, or why it could not be read. */
export interface HostReading {
  name: string;
  probe: StatusProbe | null;
  error: string | null;
}

/** One row of `data`: a kind's replication as the jobs that carry it report it. */
export interface DataRow {
  kind: DataKind;
  /** The oldest last success among the kind's jobs (data is on the spare as of then). */
  last_success: string | null;
  age_s: number | null;
  error: string | null;
  /** Items the spare lacks; null: unknown. */
  lag: number | null;
  /** `host:job` of each job that carries the kind. */
  jobs: string[];
}

/** A job as status lists it. */
export interface JobRow {
  host: string;
  job: string;
  kind: DataKind;
  role: 'send' | 'receive';
  result: JobState['result'];
  last_run: string | null;
  last_success: string | null;
  interval_s: number | null;
}

/** The status document (`pef status --format json`). */
export interface StatusDocument {
  active: string | null;
  replica: string | null;
  healthy: boolean;
  data: DataRow[];
  problems: string[];
  flavor: 'oss' | 'pe' | null;
  modes: Record<string, FailoverMode | null>;
  /** The kill-switch's reason per server; null: off (or unknown, when the server could not be read). */
  kill_switch: Record<string, string | null>;
  /** Each server's promotion epoch (/etc/pef/epoch): null without the file, 'invalid' when unreadable or the server could not be read. */
  epoch: Record<string, EpochReading>;
  /** Per server: whether it answered /status/v1/simple when asked from each server (null: not asked). */
  answers_8140: Record<string, Record<string, boolean | null>>;
  code_drift: boolean | null;
  ca: { serial_equal: boolean | null; lag: number | null };
  puppetdb: { broadcast: boolean | null; lag: number | null };
  jobs: JobRow[];
  checked_at: string;
}

/** The kinds each flavor needs a continuous job for, on both ends. */
export const REQUIRED_KINDS: Record<'oss' | 'pe', readonly DataKind[]> = {
  oss: ['ca'],
  pe: ['ca', 'classification', 'rbac', 'orchestrator'],
};

/** What compare_puppetdb found (oss): the nodes the spare's PuppetDB lacks or holds older, or why it could not tell. */
export type PuppetdbComparison = { lag: number; missing: number } | { error: string };

/**
 * Judges the pair; `primary` and `replica` are the inventory's roles, `now` the controller's
 * clock, `puppetdb` the PuppetDB comparison when one was made (oss).
 */
export function evaluateStatus(
  primary: HostReading,
  replica: HostReading,
  now: Date,
  puppetdb: PuppetdbComparison | null = null,
): StatusDocument {
  const problems: string[] = [];
  const hosts = [primary, replica];
  for (const h of hosts)
    if (!h.probe)
      problems.push(
        `cannot read ${h.name}: ${h.error ?? 'no answer'}; its state is unknown, so the pair is not healthy.`,
      );
  const flavors = new Set(hosts.flatMap((h) => (h.probe ? [h.probe.flavor] : [])));
  if (flavors.size > 1) problems.push(`${primary.name} and ${replica.name} run different flavors (oss and pe).`);
  const flavor = flavors.size === 1 ? ([...flavors][0] ?? null) : null;

  const modes: StatusDocument['modes'] = {};
  const killSwitch: StatusDocument['kill_switch'] = {};
  const epochs: StatusDocument['epoch'] = {};
  for (const h of hosts) {
    modes[h.name] = h.probe?.replication.mode?.mode ?? null;
    killSwitch[h.name] = h.probe?.replication.killSwitch?.reason ?? null;
    epochs[h.name] = h.probe?.replication.epoch ?? null;
    if (h.probe?.replication.epoch === 'invalid')
      problems.push(
        `${h.name}: /etc/pef/epoch holds no valid epoch; its replication job sends nothing and promote refuses until it is repaired (\`pef task run set_mode -t ${h.name} mode=<its mode> epoch=N\`).`,
      );
    if (h.probe?.replication.mode?.mode === 'fenced')
      problems.push(
        `${h.name} is fenced (it lost a promotion, or was fenced on purpose): its Puppet Server is stopped and it takes no part in replication. ` +
          `Rebuild it as the spare (\`pef plan run promote\`) or, once the roles are sure, demote or promote it.`,
      );
    if (h.probe && !h.probe.replication.mode)
      problems.push(`${h.name} has no failover mode (/etc/pef/mode): run \`pef plan run setup\` or set_mode.`);
    if (h.probe?.replication.killSwitch)
      problems.push(
        `replication is switched off on ${h.name} (kill-switch: ${h.probe.replication.killSwitch.reason}); clear it with set_mode replication=enabled once the roles are sure.`,
      );
  }

  const answers = answers8140(hosts, problems);
  const { active, passive } = whoIsActive(primary, replica, modes, answers, problems);
  staleEpoch(active, passive, epochs, problems);
  // With no clear active server, judge the jobs as the inventory has the roles (fail closed).
  const sender = active ?? primary;
  const receiver = passive ?? replica;

  const jobs: JobRow[] = [];
  const carried = new Map<DataKind, { host: HostReading; job: JobState }[]>();
  for (const [host, role] of [
    [sender, 'send'],
    [receiver, 'receive'],
  ] as const) {
    if (!host.probe) continue;
    if (host.probe.stateDir === 'unsafe')
      problems.push(
        `${host.name}: ${JOB_STATE_DIR} is a symbolic link or not a directory; its job states were not read.`,
      );
    for (const found of host.probe.jobs) {
      if (!found.state) {
        problems.push(refusedJob(host.name, found));
        continue;
      }
      const job = found.state;
      jobs.push(jobRow(host.name, job));
      if (job.role !== role) continue;
      carried.set(job.kind, [...(carried.get(job.kind) ?? []), { host, job }]);
      problems.push(...jobProblems(host.name, job, host.probe.now ?? now.getTime() / 1000));
    }
    for (const kind of flavor ? REQUIRED_KINDS[flavor] : [])
      if (!host.probe.jobs.some((j) => j.state?.kind === kind && j.state.role === role))
        problems.push(
          `no ${kind} ${role} job on ${host.name} (${JOB_STATE_DIR}): continuous replication of ${kind} is not installed there; run \`pef plan run setup\`.`,
        );
  }

  const ca = caLag(sender, receiver, primary.name, problems);
  const broadcasting = flavor === 'oss' ? broadcast(sender, receiver, problems) : null;
  const puppetdbLag = flavor === 'oss' ? compared(puppetdb, receiver.name, problems) : undefined;
  // Unknown flavor: at least the kind both flavors carry.
  const kinds = new Set<DataKind>([...(flavor ? REQUIRED_KINDS[flavor] : ['ca' as const]), ...carried.keys()]);
  if (flavor === 'oss') kinds.add('puppetdb');
  const required = new Set<DataKind>(flavor ? REQUIRED_KINDS[flavor] : []);
  const data = [...kinds].map((kind) => {
    const carriers = carried.get(kind) ?? [];
    // A required kind is on the spare only when both ends report: one end missing is unknown.
    const complete =
      !required.has(kind) || (['send', 'receive'] as const).every((r) => carriers.some((c) => c.job.role === r));
    return dataRow(
      kind,
      carriers,
      complete,
      now,
      kind === 'ca' ? ca.lag : kind === 'puppetdb' ? puppetdbLag : undefined,
    );
  });

  // Before `healthy` is judged: a drift is one of the problems.
  const drift = codeDrift(primary, replica, problems);
  return {
    active: active?.name ?? null,
    replica: active ? (passive?.name ?? null) : replica.name,
    healthy: problems.length === 0,
    data,
    problems,
    flavor,
    modes,
    kill_switch: killSwitch,
    epoch: epochs,
    answers_8140: answers,
    code_drift: drift,
    ca,
    puppetdb: { broadcast: broadcasting, lag: data.find((d) => d.kind === 'puppetdb')?.lag ?? null },
    jobs,
    checked_at: now.toISOString(),
  };
}

// The active server must hold the newest epoch: a passive one ahead of it was promoted later.
function staleEpoch(
  active: HostReading | null,
  passive: HostReading | null,
  epochs: StatusDocument['epoch'],
  problems: string[],
): void {
  if (!active || !passive) return;
  const a = epochs[active.name];
  const p = epochs[passive.name];
  if (typeof p === 'number' && p > (typeof a === 'number' ? a : 0))
    problems.push(
      `${active.name} is active with epoch ${a ?? 0}, but ${passive.name} has the newer epoch ${p}: ${passive.name} was promoted after ${active.name}. Decide which one serves, then promote it (\`pef task run promote\`), which raises its epoch past both.`,
    );
}

function answers8140(hosts: readonly HostReading[], problems: string[]): StatusDocument['answers_8140'] {
  const answers: StatusDocument['answers_8140'] = {};
  for (const server of hosts) {
    answers[server.name] = {};
    for (const asker of hosts) {
      const answer = asker.probe?.answers[server.name];
      answers[server.name]![asker.name] = asker.probe ? (answer?.answers ?? false) : null;
      if (asker.probe && !answer?.answers)
        problems.push(
          `${server.name} does not answer on 8140 when asked from ${asker.name}: ${answer?.detail || 'not asked'}.`,
        );
    }
  }
  return answers;
}

function whoIsActive(
  primary: HostReading,
  replica: HostReading,
  modes: StatusDocument['modes'],
  answers: StatusDocument['answers_8140'],
  problems: string[],
): { active: HostReading | null; passive: HostReading | null } {
  const hosts = [primary, replica];
  const byMode = hosts.filter((h) => modes[h.name] === 'active');
  const answering = hosts.filter((h) => Object.values(answers[h.name] ?? {}).some((a) => a === true));
  if (byMode.length === 2) {
    problems.push(
      `two active servers: both ${primary.name} and ${replica.name} have mode active. Decide which one is, then demote the other (\`pef task run demote -t <it>\`).`,
    );
    return { active: null, passive: null };
  }
  const [active] = byMode;
  // A server that could not be read may be the active one: already a problem, not guessed at.
  if (!active && hosts.some((h) => !h.probe)) return { active: null, passive: null };
  if (!active) {
    const [only] = answering;
    problems.push(
      answering.length === 1 && only
        ? `no server has mode active; only ${only.name} answers on 8140. Set the modes (\`pef plan run setup\` or set_mode).`
        : 'no server has mode active; status cannot tell which one agents should use. Set the modes (`pef plan run setup` or set_mode).',
    );
    return answering.length === 1 && only
      ? { active: only, passive: only === primary ? replica : primary }
      : { active: null, passive: null };
  }
  const passive = active === primary ? replica : primary;
  if (!answering.includes(active))
    problems.push(
      `${active.name} is active by its mode but does not answer on 8140${answering.includes(passive) ? `, while ${passive.name} does` : ''}: mode and Puppet Server disagree.`,
    );
  return { active, passive };
}

function caLag(
  sender: HostReading,
  receiver: HostReading,
  primaryName: string,
  problems: string[],
): StatusDocument['ca'] {
  const a = sender.probe?.ca;
  const b = receiver.probe?.ca;
  if (!a || !b) return { serial_equal: null, lag: null };
  const serialEqual = a.serial !== null && b.serial !== null ? a.serial === b.serial : null;
  if (a.count === null || a.digest === null) {
    problems.push(`${sender.name}: the CA inventory (inventory.txt) could not be read.`);
    return { serial_equal: serialEqual, lag: null };
  }
  if (b.count === null || b.count === 0) return { serial_equal: serialEqual, lag: a.count };
  if (a.digest === b.digest) return { serial_equal: serialEqual, lag: 0 };
  // The prefix digest is computed on the inventory primary only; after a failover it is unknown.
  if (sender.name === primaryName && a.prefixDigest !== null && a.prefixDigest === b.digest)
    return { serial_equal: serialEqual, lag: a.count - b.count };
  if (sender.name === primaryName && a.prefixDigest !== null)
    problems.push(
      `the CA inventories differ: ${receiver.name}'s inventory.txt is not an older copy of ${sender.name}'s (certificates signed on both?). Run sync_ca from ${sender.name} once the active server is sure.`,
    );
  return { serial_equal: serialEqual, lag: null };
}

function broadcast(sender: HostReading, receiver: HostReading, problems: string[]): boolean | null {
  if (!sender.probe) return null;
  const conf = sender.probe.puppetdb;
  const names = new Set([receiver.name, receiver.probe?.certname].filter((n): n is string => !!n));
  const listed = conf?.serverUrls.some((url) => names.has(urlHost(url))) ?? false;
  const ok = conf !== null && conf.commandBroadcast && listed;
  if (!ok)
    problems.push(
      `PuppetDB commands are not broadcast from ${sender.name} to ${receiver.name}: its puppetdb.conf ${conf === null ? 'is missing' : `has server_urls ${conf.serverUrls.join(',') || '(none)'} and command_broadcast ${String(conf.commandBroadcast)}`}. Run \`pef plan run setup\`.`,
    );
  return ok;
}

// Nodes the spare's PuppetDB lacks are a problem (a reseed is due); older data alone is the lag.
function compared(comparison: PuppetdbComparison | null, receiver: string, problems: string[]): number | null {
  if (comparison === null) return null;
  if ('error' in comparison) {
    problems.push(`the PuppetDBs could not be compared (compare_puppetdb): ${comparison.error}`);
    return null;
  }
  if (comparison.missing > 0)
    problems.push(
      `${receiver}'s PuppetDB lacks ${comparison.missing} node(s) the active one holds: reseed it (dump_db/restore_db of puppetdb, or \`pef plan run sync\`).`,
    );
  return comparison.lag;
}

function codeDrift(primary: HostReading, replica: HostReading, problems: string[]): boolean | null {
  if (!primary.probe || !replica.probe) return null;
  const drift = primary.probe.codeDigest !== replica.probe.codeDigest;
  if (drift)
    problems.push(
      `code drift: environments/ differs between ${primary.name} and ${replica.name}. Deploy the same code to both (r10k, Code Manager) or run setup with code=rsync.`,
    );
  return drift;
}

function dataRow(
  kind: DataKind,
  carriers: readonly { host: HostReading; job: JobState }[],
  complete: boolean,
  now: Date,
  lag: number | null | undefined,
): DataRow {
  const successes = carriers.map((c) => c.job.lastSuccess);
  const known = successes.filter((s): s is string => s !== null).sort();
  const lastSuccess = complete && carriers.length > 0 && known.length === carriers.length ? (known[0] ?? null) : null;
  const ages = carriers.map(({ host, job }) =>
    job.lastSuccess === null ? null : (host.probe?.now ?? now.getTime() / 1000) - Date.parse(job.lastSuccess) / 1000,
  );
  const failed = carriers.find((c) => c.job.result === 'failure');
  const lags = carriers.map((c) => c.job.lag).filter((l): l is number => l !== null);
  return {
    kind,
    last_success: lastSuccess,
    age_s:
      lastSuccess === null || ages.some((a) => a === null)
        ? null
        : Math.max(0, Math.round(Math.max(...(ages as number[])))),
    error: failed ? (failed.job.error ?? 'failed') : null,
    lag: lag !== undefined ? lag : lags.length > 0 ? Math.max(...lags) : null,
    jobs: carriers.map((c) => `${c.host.name}:${c.job.job}`),
  };
}

function jobRow(host: string, job: JobState): JobRow {
  return {
    host,
    job: job.job,
    kind: job.kind,
    role: job.role,
    result: job.result,
    last_run: job.lastRun,
    last_success: job.lastSuccess,
    interval_s: job.intervalS,
  };
}

function refusedJob(host: string, found: ProbedJob): string {
  return `${host}: job state ${JOB_STATE_DIR}/${found.file} could not be used: ${found.problem ?? 'unreadable'}.`;
}

function urlHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}
