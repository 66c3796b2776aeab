/**
 * Sync on a real lab (issue 9, item 7; oss profile): what the warm spare's replication achieves
 * once `setup` has made it, with no pef process in the data path.
 *
 *   setup:    `setup code=rsync` through the library runtime (createRuntime), timed on the lab as
 *             it was given (a fresh lab: the first setup), then again on the unchanged pair, which
 *             must change nothing (goal: <= 10 s, changed 0). The first run is the baseline.
 *   CA RPO:   a certificate signed on the primary (`puppetserver ca generate`), timed from its
 *             file's mtime on the primary to the first moment a loop on the replica (polling every
 *             50 ms) sees it in the replica's signed/; the host-side jobs carry it (goal: p50 <= 2 s,
 *             p95 <= 5 s). Baseline: the two passes' own time (duration_ms in the jobs' state files).
 *   PuppetDB: an agent run on agent1 (`puppet agent --test`); the primary's terminus broadcasts the
 *             run's commands (facts, catalog, report) to both PuppetDBs. A loop on the primary polls
 *             both every 0.2 s during the run (one curl, the nodes endpoint) and notes when each
 *             timestamp moves; lag = that moment minus the command's producer_timestamp, read
 *             afterwards with PQL (the report's and catalog's transaction_uuid must be the run's).
 *             Per run, the worst of the three commands (goal: p95 <= 10 s on the replica).
 *             Baseline: the same on the primary's own PuppetDB.
 *
 * Lab hosts share this machine's clock, so times taken on different hosts compare. A lab given
 * with --lab-dir is used as it is and left up; otherwise one is brought up on --lab-prefix and
 * taken down at the end (also on failure and Ctrl-C).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, NonInteractivePrompter, type PefRuntime, type PlanResult } from '../src/index.js';
import { labDown } from '../src/lab/lab-down.js';
import { labPaths } from '../src/lab/lab-layout.js';
import { readLabState } from '../src/lab/lab-state.js';
import { agentExitProblem } from '../src/puppet/agent-run.js';
import { pqlCommand } from '../src/puppet/puppetdb-compare.js';
import { puppetdbUrl } from '../src/puppet/puppetdb-conf.js';
import { curlWithCert, hostTlsCommand, parseHostTls, type HostTls } from '../src/puppet/replica-servers.js';
import { jobStatePath, parseJobState } from '../src/replication/job-state.js';
import type { Connection } from '../src/transport/transport.js';
import { shQuote } from '../src/util/shell-quote.js';
import type { Cleanup } from './cleanup.js';
import { formatMs, times, type Row } from './report.js';
import { percentile, single, summarize } from './stats.js';
import { timedSpawn } from './timed-spawn.js';

/** Which lab, and how many samples. */
export interface SyncLabOptions {
  /** The repository root (bin/pef.js). */
  root: string;
  /** An oss lab that is up (its state dir); without it one is brought up and taken down. */
  labDir?: string;
  /** The address prefix of a lab the bench brings up. */
  labPrefix: string;
  /** Which measures: setup, ca, puppetdb. */
  parts: ReadonlySet<string>;
  signings: number;
  agentRuns: number;
  log: (text: string) => void;
}

const SECTION = 'sync on the lab (oss)';
const KINDS = ['facts', 'catalog', 'report'] as const;
const DBS = ['primary', 'replica'] as const;
type Db = (typeof DBS)[number];
// `${EPOCHREALTIME/./}`: bash's wall clock in microseconds, without a fork.
const NOW_US = '${EPOCHREALTIME/./}';

/** Runs the measures, pushing each one's rows into `rows` as it ends (a later failure keeps them); see the file comment. */
export async function benchSyncLab(cleanup: Cleanup, o: SyncLabOptions, rows: Row[]): Promise<void> {
  const dir = o.labDir ?? (await bringUpLab(cleanup, o));
  const state = await readLabState(labPaths(dir));
  if (state?.phase !== 'up' || state.profile !== 'oss' || state.agents < 1)
    throw new Error(
      `sync lab: ${dir} holds no oss lab that is up with an agent (pef lab up --dir ${dir} --profile oss), or drop --lab-dir`,
    );
  const runtime = createRuntime({
    inventory: join(dir, 'inventory.yaml'),
    format: 'json',
    prompter: new NonInteractivePrompter(),
  });
  cleanup.add('lab runtime', () => runtime.close());
  const [primary, replica, agent] = (await Promise.all(
    ['primary', 'replica', 'agent1'].map(async (name) => {
      const [target] = await runtime.targets(name);
      if (target === undefined) throw new Error(`sync lab: no ${name} in ${dir}/inventory.yaml`);
      return runtime.core.connections.get(target);
    }),
  )) as [Connection, Connection, Connection];

  const fresh = (await primary.run(`test -e ${jobStatePath('sync_ca')}`)).exitCode !== 0;
  o.log(`sync lab: the lab in ${dir} (${state.addressPrefix}.x)`);
  if (o.parts.has('setup')) rows.push(...(await benchSetup(runtime, fresh, o.log)));
  if (o.parts.has('ca')) rows.push(...(await benchCaRpo(primary, replica, o)));
  if (o.parts.has('puppetdb')) rows.push(...(await benchPuppetdbLag(primary, agent, o)));
}

async function bringUpLab(cleanup: Cleanup, o: SyncLabOptions): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pef-bench-lab-'));
  // Registered first: `lab down` also cleans up after an `up` that was killed half-way.
  cleanup.add(`lab down ${dir}`, async () => void (await labDown({ dir })));
  o.log(`sync lab: bringing up an oss lab on ${o.labPrefix}.x in ${dir} (a few minutes)…`);
  const up = await timedSpawn(
    cleanup,
    process.execPath,
    [join(o.root, 'bin', 'pef.js'), 'lab', 'up', '--dir', dir, '--address-prefix', o.labPrefix],
    { timeoutMs: 20 * 60_000 },
  );
  if (up.code !== 0) throw new Error(`sync lab: pef lab up exited ${up.code}: ${up.stderr.slice(-2000)}`);
  o.log(`sync lab: up in ${formatMs(up.ms)}`);
  return dir;
}

/** stdout of `command`, or an error naming the host, the command and what it said. */
async function sh(conn: Connection, command: string, timeoutMs = 120_000): Promise<string> {
  const out = await conn.run(command, { timeoutMs });
  if (out.exitCode !== 0)
    throw new Error(
      `sync lab: on ${conn.target.name}, ${command.slice(0, 120)}… exited ${out.exitCode}: ${(out.stderr || out.stdout).trim().slice(-800)}`,
    );
  return out.stdout;
}

const bash = (script: string): string => `bash -c ${shQuote(script)}`;

async function timedSetup(runtime: PefRuntime): Promise<{ ms: number; result: PlanResult }> {
  const t = performance.now();
  const result = await runtime.runPlan('setup', { code: 'rsync' });
  const ms = performance.now() - t;
  if (result.status !== 'success') {
    const step = result.steps.find((s) => s.status === 'failure');
    throw new Error(
      `sync lab: setup failed at step ${step?.name ?? '?'}: ${step?.error?.msg ?? result.error?.msg ?? 'no message'}`,
    );
  }
  return { ms, result };
}

const slowest = (result: PlanResult): string =>
  [...result.steps]
    .sort((a, b) => b.elapsed_time - a.elapsed_time)
    .slice(0, 3)
    .map((s) => `${s.name} ${s.elapsed_time.toFixed(1)} s`)
    .join(', ');

async function benchSetup(runtime: PefRuntime, fresh: boolean, log: (text: string) => void): Promise<Row[]> {
  log(`sync lab: setup code=rsync (${fresh ? 'first setup of this lab' : 'the lab was set up before'})…`);
  const first = await timedSetup(runtime);
  log(`sync lab: setup took ${formatMs(first.ms)}, changed ${first.result.changed}; again on the unchanged pair…`);
  const again = await timedSetup(runtime);
  log(`sync lab: second setup took ${formatMs(again.ms)}, changed ${again.result.changed}`);
  return [
    {
      section: SECTION,
      label: fresh
        ? 'setup code=rsync, first run on a fresh lab (baseline)'
        : 'setup code=rsync on a lab set up before',
      stats: single(first.ms),
      ratio: '1×',
      note: `changed ${first.result.changed}; slowest steps: ${slowest(first.result)}`,
    },
    {
      section: SECTION,
      label: 'setup code=rsync again, unchanged pair',
      stats: single(again.ms),
      ratio: `${((again.ms / first.ms) * 100).toFixed(0)}% of the run before`,
      goal: {
        text: `≤ 10 s and changed 0 (changed ${again.result.changed})`,
        met: again.ms <= 10_000 && again.result.changed === 0,
      },
      note: `slowest steps: ${slowest(again.result)}`,
    },
  ];
}

/** Prints bash's clock (µs) once `test` holds, polling every `pollS`; fails after `limitMs`. */
function waitCommand(test: string, limitMs: number, pollS: number): string {
  return bash(
    `end=$((${NOW_US} / 1000 + ${limitMs})); until ${test}; do ` +
      `[ $((${NOW_US} / 1000)) -lt $end ] || { echo "not within ${limitMs} ms: ${test}" >&2; exit 1; }; sleep ${pollS}; done; echo ${NOW_US}`,
  );
}

const micros = (text: string | undefined, what: string): number => {
  const n = Number(text?.trim());
  if (!Number.isFinite(n) || n <= 0) throw new Error(`sync lab: ${what}: expected a time in µs, got ${text}`);
  return n / 1000;
};

async function passMs(conn: Connection, job: string): Promise<number> {
  const state = parseJobState(await sh(conn, `cat ${jobStatePath(job)}`));
  if (state?.result !== 'success' || state.durationMs === null)
    throw new Error(`sync lab: ${job} on ${conn.target.name} did not end with a success: ${JSON.stringify(state)}`);
  return state.durationMs;
}

async function benchCaRpo(primary: Connection, replica: Connection, o: SyncLabOptions): Promise<Row[]> {
  const cadir = async (conn: Connection) => (await sh(conn, 'puppet config print cadir --section server')).trim();
  const [fromCadir, toCadir] = [await cadir(primary), await cadir(replica)];
  const rpo: number[] = [];
  const afterCli: number[] = [];
  const signing: number[] = [];
  const passes: number[] = [];
  const run = Date.now().toString(36);
  o.log(`sync lab: CA RPO over ${o.signings} signings…`);
  for (let i = 1; i <= o.signings; i++) {
    const name = `bench-${run}-${i}.lab`;
    const there = `${toCadir}/signed/${name}.pem`;
    // Started before the signing: it notes the first poll that finds the certificate.
    const seen = sh(replica, waitCommand(`[ -e ${shQuote(there)} ]`, 60_000, 0.05), 90_000);
    seen.catch(() => undefined);
    const t0 = performance.now();
    const signed = await sh(
      primary,
      bash(
        `out=$(puppetserver ca generate --certname ${name} 2>&1) || { printf '%s\\n' "$out" >&2; exit 1; }; ` +
          `echo ${NOW_US}; date -r ${shQuote(`${fromCadir}/signed/${name}.pem`)} +%s%6N`,
      ),
    );
    signing.push(performance.now() - t0);
    const [returned, mtime] = signed.trim().split('\n');
    const at = micros(await seen, 'seen on the replica');
    rpo.push(at - micros(mtime, 'mtime on the primary'));
    afterCli.push(at - micros(returned, 'ca generate returned'));
    passes.push((await passMs(primary, 'sync_ca')) + (await passMs(replica, 'receive_ca')));
    o.log(`sync lab: CA ${i}/${o.signings}: ${formatMs(rpo.at(-1) ?? 0)}`);
  }
  const rpoStats = summarize(rpo);
  const p95 = percentile(rpo, 95);
  const passStats = summarize(passes);
  return [
    {
      section: SECTION,
      label: 'CA: the two passes of a signing (sync_ca + receive_ca duration_ms)',
      stats: passStats,
      ratio: '1×',
      note: 'from the jobs state files after each signing (the last pass of each job)',
    },
    {
      section: SECTION,
      label: "CA RPO: signed on the primary → in the replica's signed/",
      stats: rpoStats,
      ratio: `${times(rpoStats.median / passStats.median)} the passes`,
      goal: { text: `p50 ≤ 2 s, p95 ≤ 5 s (p95 ${formatMs(p95)})`, met: rpoStats.median <= 2000 && p95 <= 5000 },
      note:
        `from the certificate file's mtime on the primary to the first 50 ms poll on the replica that finds it; ` +
        `p95 ${formatMs(p95)}; from \`puppetserver ca generate\` returning: p50 ${formatMs(summarize(afterCli).median)}, ` +
        `p95 ${formatMs(percentile(afterCli, 95))}; the signing command itself: median ${formatMs(summarize(signing).median)}`,
    },
  ];
}

/** Polls the nodes endpoint of both PuppetDBs until facts, catalog and report moved on both; prints `<db>:<kind> <µs>`. */
function lagWaitCommand(tls: HostTls, certname: string, before: Record<string, string>, limitMs: number): string {
  const query = `nodes[certname, facts_timestamp, catalog_timestamp, report_timestamp] { certname = "${certname}" }`;
  const url = (db: Db) => `${puppetdbUrl(`${db}.lab`)}/pdb/query/v4?query=${encodeURIComponent(query)}`;
  // One curl for both (the first URL rides in `extra`); PuppetDB pretty-prints, so blanks go.
  const curl = curlWithCert(tls, url('replica'), ['-w', '@@', url('primary')]);
  const items = DBS.flatMap((db) => KINDS.map((kind) => `${db}:${kind}`));
  return bash(
    [
      `declare -A before=(${items.map((i) => `[${i}]=${shQuote(before[i] ?? '')}`).join(' ')})`,
      `pending=(${items.join(' ')}); end=$((${NOW_US} / 1000 + ${limitMs}))`,
      'while [ ${#pending[@]} -gt 0 ]; do',
      `  [ $((${NOW_US} / 1000)) -lt $end ] || { echo "still waiting for \${pending[*]}: $out" >&2; exit 1; }`,
      `  out=$(${curl} 2>&1 | tr -d ' \\n'); t=${NOW_US}`,
      '  declare -A row=([primary]="${out%%@@*}" [replica]="${out#*@@}"); left=()',
      '  for item in "${pending[@]}"; do',
      '    re="\\"${item#*:}_timestamp\\":\\"([^\\"]+)\\""',
      '    if [[ ${row[${item%%:*}]} =~ $re ]] && [ "${BASH_REMATCH[1]}" != "${before[$item]}" ]; then echo "$item $t"; else left+=("$item"); fi',
      '  done',
      '  pending=("${left[@]}"); [ ${#pending[@]} -eq 0 ] || sleep 0.2',
      'done',
    ].join('\n'),
  );
}

async function benchPuppetdbLag(primary: Connection, agent: Connection, o: SyncLabOptions): Promise<Row[]> {
  const certname = agent.target.name;
  const tls = parseHostTls(await sh(primary, hostTlsCommand('puppet')));
  if (tls === null) throw new Error("sync lab: could not read the primary's certificate paths (puppet config print)");
  const ask = async (db: Db, query: string): Promise<Record<string, string>[]> =>
    JSON.parse(await sh(primary, pqlCommand(tls, puppetdbUrl(`${db}.lab`), query))) as Record<string, string>[];
  const latest = async (db: Db) => {
    const [facts] = await ask(db, `factsets[producer_timestamp] { certname = "${certname}" }`);
    const [catalog] = await ask(db, `catalogs[producer_timestamp, transaction_uuid] { certname = "${certname}" }`);
    const [report] = await ask(
      db,
      `reports[producer_timestamp, transaction_uuid] { certname = "${certname}" and latest_report? = true }`,
    );
    return { facts, catalog, report };
  };
  const nodeRow = async (db: Db) =>
    (await ask(db, `nodes[facts_timestamp, catalog_timestamp, report_timestamp] { certname = "${certname}" }`))[0];

  const lag: Record<Db, number[]> = { primary: [], replica: [] };
  const byKind = new Map<string, number[]>();
  const runMs: number[] = [];
  o.log(`sync lab: PuppetDB lag over ${o.agentRuns} agent runs on ${certname}…`);
  for (let i = 1; i <= o.agentRuns; i++) {
    const before: Record<string, string> = {};
    for (const db of DBS) {
      const row = await nodeRow(db);
      for (const kind of KINDS) before[`${db}:${kind}`] = row?.[`${kind}_timestamp`] ?? '';
    }
    const waited = sh(primary, lagWaitCommand(tls, certname, before, 300_000), 330_000);
    waited.catch(() => undefined);
    const t0 = performance.now();
    const ran = await agent.run(
      bash(
        'd=$(mktemp -d /tmp/pef-bench-agent.XXXXXX) || exit 1; ' +
          'puppet agent --test --color=false --lastrunreport="$d/report.yaml" > "$d/out" 2>&1; rc=$?; ' +
          `echo "rc=$rc"; sed -n 's/^transaction_uuid: *//p' "$d/report.yaml"; [ $rc = 0 ] || [ $rc = 2 ] || tail -c 3000 "$d/out"; rm -rf "$d"`,
      ),
      { timeoutMs: 600_000 },
    );
    runMs.push(performance.now() - t0);
    const [rcLine, quoted, ...output] = ran.stdout.split('\n');
    // The report's YAML quotes a uuid that could read as a number.
    const uuid = quoted?.trim().replace(/^(['"])(.*)\1$/, '$2');
    const problem = agentExitProblem(Number(rcLine?.replace('rc=', '')), output.join('\n'));
    if (problem !== null || !uuid) throw new Error(`sync lab: agent run ${i} on ${certname}: ${problem} ${ran.stdout}`);
    const seen = new Map<string, number>();
    for (const line of (await waited).trim().split('\n')) {
      const [item, us] = line.split(' ');
      if (item !== undefined) seen.set(item, micros(us, item));
    }
    for (const db of DBS) {
      const data = await latest(db);
      for (const [kind, row] of Object.entries(data)) {
        if (kind !== 'facts' && row?.['transaction_uuid'] !== uuid)
          throw new Error(
            `sync lab: ${db}'s PuppetDB holds another run's ${kind} (${JSON.stringify(row)}, run ${uuid})`,
          );
      }
      const lags = KINDS.map((kind) => {
        const produced = Date.parse(data[kind]?.['producer_timestamp'] ?? '');
        const ms = (seen.get(`${db}:${kind}`) ?? Number.NaN) - produced;
        if (!Number.isFinite(ms)) throw new Error(`sync lab: no ${kind} of run ${uuid} timed on ${db}`);
        byKind.set(`${db} ${kind}`, [...(byKind.get(`${db} ${kind}`) ?? []), ms]);
        return ms;
      });
      lag[db].push(Math.max(...lags));
    }
    o.log(`sync lab: agent run ${i}/${o.agentRuns}: replica ${formatMs(lag.replica.at(-1) ?? 0)}`);
  }
  const [p, r] = [summarize(lag.primary), summarize(lag.replica)];
  const p95 = percentile(lag.replica, 95);
  const kinds = [...byKind].map(([k, ms]) => `${k} ${formatMs(summarize(ms).median)}`).join(', ');
  return [
    {
      section: SECTION,
      label: "PuppetDB: a run's facts, catalog and report queryable on the primary (baseline)",
      stats: p,
      ratio: '1×',
    },
    {
      section: SECTION,
      label: '… the same on the replica (command broadcast)',
      stats: r,
      ratio: `${times(r.median / p.median)} the primary (+${formatMs(r.median - p.median)})`,
      goal: { text: `p95 ≤ 10 s (p95 ${formatMs(p95)})`, met: p95 <= 10_000 },
      note:
        `per run, the worst of the three commands, from its producer_timestamp to the first 0.2 s poll that returns it; ` +
        `p95 ${formatMs(p95)}; medians by command: ${kinds}; the agent run itself: median ${formatMs(summarize(runMs).median)}`,
    },
  ];
}
