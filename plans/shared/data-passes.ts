/**
 * Replication passes, one data kind each, as both `sync` and `setup` run them from the controller:
 * carry the kind, then record the pass on both servers (record_job) under the job names the
 * host-side jobs use, so `status` sees it. A failing pass is recorded and remembered in the plan's
 * `failed` memo, not thrown: the other kinds still get their pass.
 *
 * Each pass goes from the inventory's primary to its replica unless given a `pair`: switchover
 * passes the direction it read from the servers' modes (the active server sends), which after a
 * switchover is the other way round.
 */
import { PefError } from '../../src/errors/pef-error.js';
import type { ResultSet } from '../../src/executor/result.js';
import type { PlanContext } from '../../src/plan/plan.js';
import { dumpFilesOf } from '../../src/puppet/databases.js';
import type { DataKind } from '../../src/replication/job-state.js';
import type { Target } from '../../src/inventory/target.js';
import { pairTargets, type Pair } from '../../src/workflow/pair.js';
import { comparePuppetdbTask } from '../../tasks/compare-puppetdb.js';
import { copySecrets } from '../../tasks/copy-secrets.js';
import { dumpDb } from '../../tasks/dump-db.js';
import { dumpNc } from '../../tasks/dump-nc.js';
import { recordJob } from '../../tasks/record-job.js';
import { restoreDb } from '../../tasks/restore-db.js';
import { restoreNc } from '../../tasks/restore-nc.js';
import { syncCa } from '../../tasks/sync-ca.js';

/** The PE databases a full pass carries (the classifier's is carried by dump_nc/restore_nc). */
export const PE_DATABASES: readonly { kind: DataKind; database: string }[] = [
  { kind: 'rbac', database: 'pe-rbac' },
  { kind: 'orchestrator', database: 'pe-orchestrator' },
];

/** The memo key a plan using `recordedPass` declares (computing `[]`): the kinds that failed. */
export const FAILED_PASSES = 'failed';

/** Where a pass goes and how it is recorded; every field defaults as the file comment says. */
export interface PassOptions {
  /** Sender (`primary`) and receiver (`replica`); default: the inventory's roles. */
  pair?: Pair;
  /** The schedule recorded with the pass (default: keep the one recorded), for jobs just installed. */
  intervalS?: number;
}

/** Carries one kind and records it: `sync_<job>` on the sender, `receive_<job>` on the receiver. */
export async function recordedPass(
  ctx: PlanContext<unknown>,
  what: { job: string; kind: DataKind },
  carry: () => Promise<ResultSet>,
  options: PassOptions = {},
): Promise<void> {
  const { primary, replica } = options.pair ?? (await pairTargets(ctx));
  const started = performance.now();
  const set = await carry();
  const duration = Math.round(performance.now() - started);
  const error = set.errorSet()[0]?.error?.msg;
  if (error !== undefined) await rememberFailure(ctx, what.kind, error);
  const record = {
    kind: what.kind,
    result: error === undefined ? ('success' as const) : ('failure' as const),
    message: error === undefined ? `${what.kind} carried from the controller (pef plan run)` : error,
    // A dry run's duration says nothing about the pass it previews (or a runbook replays).
    ...(ctx.noop ? {} : { duration_ms: duration }),
    ...(options.intervalS === undefined ? {} : { interval_s: options.intervalS }),
  };
  // Previewed in a dry run too: an exported runbook records its passes as a run does.
  await ctx.runTask(recordJob, [primary], { ...record, job: `sync_${what.job}`, role: 'send' });
  await ctx.runTask(recordJob, [replica], { ...record, job: `receive_${what.job}`, role: 'receive' });
}

/** PE: the node groups, dumped on the primary with its names rewritten, restored on the replica. */
export async function classificationPass(ctx: PlanContext<unknown>, options: PassOptions = {}): Promise<void> {
  const { primary, replica } = options.pair ?? (await pairTargets(ctx));
  await recordedPass(
    ctx,
    { job: 'classification', kind: 'classification' },
    async () => {
      const dumped = await ctx.runTask(dumpNc, [primary], { receiver: replica.name }, { catchErrors: true });
      return dumped.ok ? ctx.runTask(restoreNc, [replica], {}, { catchErrors: true }) : dumped;
    },
    options,
  );
}

/** PE: each of PE_DATABASES dumped, shipped and restored, one pass each. */
export async function databasePasses(ctx: PlanContext<unknown>, options: PassOptions = {}): Promise<void> {
  const { primary, replica } = options.pair ?? (await pairTargets(ctx));
  for (const { kind, database } of PE_DATABASES)
    await recordedPass(
      ctx,
      { job: kind, kind },
      async () => {
        const dumped = await ctx.runTask(
          dumpDb,
          [primary],
          { databases: [database], receiver: replica.name },
          { catchErrors: true },
        );
        return dumped.ok ? restoreShipped(ctx, dumped, primary.name, replica, [database]) : dumped;
      },
      options,
    );
}

/** PE: the services' key files and hiera.yaml, by digest; the replica's services that read them restarted. */
export async function secretsPass(ctx: PlanContext<unknown>, options: PassOptions = {}): Promise<void> {
  const { primary, replica } = options.pair ?? (await pairTargets(ctx));
  await recordedPass(
    ctx,
    { job: 'secrets', kind: 'secrets' },
    () => ctx.runTask(copySecrets, [primary], { replica: replica.name, restart_services: true }, { catchErrors: true }),
    options,
  );
}

/** The CA (signed certificates, CRL, inventory, serial), only what changed. */
export async function caPass(ctx: PlanContext<unknown>, options: PassOptions = {}): Promise<void> {
  const { primary, replica } = options.pair ?? (await pairTargets(ctx));
  await recordedPass(
    ctx,
    { job: 'ca', kind: 'ca' },
    () => ctx.runTask(syncCa, [primary], { receiver: replica.name }, { catchErrors: true }),
    options,
  );
}

/** Notes a kind that could not be carried, for failIfPassesFailed at the end of the run. */
export async function rememberFailure(ctx: PlanContext<unknown>, kind: DataKind, message: string): Promise<void> {
  const failed = (await ctx.memo.get(FAILED_PASSES)) as string[];
  ctx.memo.set(FAILED_PASSES, [...failed, `${kind}: ${message.split('\n')[0] ?? message}`]);
}

/** Throws, naming them, when any pass of this run failed. */
export async function failIfPassesFailed(ctx: PlanContext<unknown>): Promise<void> {
  const failed = (await ctx.memo.get(FAILED_PASSES)) as string[];
  if (failed.length > 0)
    throw new PefError(
      'pef/task-failed',
      `Not carried to the replica: ${failed.join('; ')}. The other kinds were. Fix the cause and run again (with --from <step> to skip what is done).`,
      { failed },
    );
}

/**
 * oss: the replica's PuppetDB reconciled with the primary's. Command broadcast keeps them equal
 * while both are up; what the replica missed (before the stream, or while it was down) shows as
 * lag in compare_puppetdb, and a lag reseeds it with a dump and restore of the puppetdb database.
 * Not recorded as a job: the stream has no passes; status reads the broadcast and the lag itself.
 * `reseedWhen: 'missing'` (setup) reseeds only for absent nodes: a node with older data on the
 * replica is brought up to date by its next run through the stream, so a second setup stays a no-op.
 */
export async function puppetdbReconcile(
  ctx: PlanContext<unknown>,
  reseedWhen: 'missing' | 'lag' = 'lag',
  pair?: Pair,
): Promise<void> {
  const { primary, replica } = pair ?? (await pairTargets(ctx));
  const compared = await ctx.runTask(comparePuppetdbTask, [primary], { receiver: replica.name }, { catchErrors: true });
  const result = compared.find(primary.name);
  // An unanswered comparison is an unknown state: a dry run previews the reseed, a real run stops.
  if (result?.status !== 'success' && !ctx.noop)
    throw new PefError('pef/task-failed', `compare_puppetdb: ${result?.error?.msg ?? 'no result'}`, {
      target: primary.name,
    });
  const lag = result?.value['lag'];
  const missing = result?.value['missing'];
  const behind = reseedWhen === 'lag' ? lag : Array.isArray(missing) ? missing.length : undefined;
  if (behind === 0) {
    ctx.log(`PuppetDB: ${replica.name} holds every node ${primary.name} holds`);
    return;
  }
  ctx.log(
    `PuppetDB: ${replica.name} lacks ${typeof behind === 'number' ? behind : 'an unknown number of'} node(s); reseeding it`,
  );
  const dumped = await ctx.runTask(dumpDb, [primary], { databases: ['puppetdb'], receiver: replica.name });
  await restoreShipped(ctx, dumped, primary.name, replica, ['puppetdb'], { catchErrors: false });
}

/**
 * restore_db on the receiver of exactly the dumps `dumped` (a dump_db run on `sender`) shipped,
 * by name: not whatever is newest there, and in a dry run the dumps it only previewed.
 */
function restoreShipped(
  ctx: PlanContext<unknown>,
  dumped: ResultSet,
  sender: string,
  receiver: Target,
  databases: string[],
  options = { catchErrors: true },
): Promise<ResultSet> {
  const files = dumpFilesOf(dumped.find(sender)?.value);
  return ctx.runTask(restoreDb, [receiver], { databases, dump_files: files }, options);
}
