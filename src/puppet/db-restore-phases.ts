/**
 * restore_db's procedure as named phases sharing one `RestoreRun` state: take the lock, start
 * PostgreSQL if needed, copy the dumps, create missing roles, stop the consumers, restore into
 * `<db>_pef_new`, swap, drop what was replaced; then `putBack` (after a failure) and `release`
 * (always: services started again, work files removed, the lock released). Each phase records
 * in the state what it changed before changing it, so the cleanup undoes exactly that.
 *
 * The cleanup runs through `ctx.cleanup` (it works after Ctrl-C, with a bounded timeout per
 * command) and checks what it reports: a service counts as running again only once its status
 * says so, the lock as released only once it can be taken, a database as put back only once
 * PostgreSQL lists it.
 */
import { PefError } from '../errors/pef-error.js';
import type { HostFacts } from '../host/discover.js';
import { serviceCommand, startOrder, stopOrder } from '../host/services.js';
import { captureName, runTimeValue, type RunTimeCapture } from '../task/run-time-value.js';
import type { HostCommands, TaskContext } from '../task/task.js';
import { parseKeyValues } from '../util/key-value.js';
import { shQuote } from '../util/shell-quote.js';
import {
  asSuperuser,
  copyForRestoreCommand,
  DATABASE_CONSUMERS,
  DATABASE_COPY_TIMEOUT_MS,
  DATABASE_DEFAULTS,
  DATABASE_SERVICE,
  databaseStateSql,
  dropDatabaseStatements,
  parseDatabaseRows,
  psqlCommand,
  restoreMarker,
  restoreNames,
  sqlIdent,
  sqlLiteral,
  swapStatements,
  type DatabaseRow,
  type PgTools,
} from './databases.js';
import { lockAcquireCommand, lockReleaseCommand, parseLock } from '../host/lock.js';

/** One database to restore, once its dump is found and checked. */
export interface PlannedRestore {
  database: string;
  /** The dump on the host (then its work copy), and its verified sha256. */
  path: string;
  file: string;
  sha256: string;
  size: number;
  /** The roles its objects name (owners, grantees). */
  roles: string[];
  dumpOwner: string | null;
}

/** What restore_db's parameters say to the phases. */
export interface RestoreOptions {
  owner?: string | undefined;
  jobs: number;
  keepPrevious: boolean;
}

/** The state the phases share; see the file comment. */
export interface RestoreRun {
  readonly ctx: TaskContext<unknown>;
  readonly facts: HostFacts;
  readonly pg: PgTools;
  readonly options: RestoreOptions;
  readonly token: string;
  /** Databases left to restore (those not already holding their dump). */
  todo: PlannedRestore[];
  rows: Map<string, DatabaseRow>;
  existedBefore: Set<string>;
  /** What was changed, for the cleanup. */
  lockHeld: boolean;
  startedPostgres: boolean;
  workFiles: string[];
  createdRoles: string[];
  /** Services a stop was sent to (also when the stop failed: they are started again). */
  stopped: string[];
  swapped: boolean;
  /** The phase running now, for the error message. */
  step: string;
}

/** A fresh state. */
export function newRestoreRun(
  ctx: TaskContext<unknown>,
  facts: HostFacts,
  pg: PgTools,
  options: RestoreOptions,
  token: string,
): RestoreRun {
  return {
    ctx,
    facts,
    pg,
    options,
    token,
    todo: [],
    rows: new Map(),
    existedBefore: new Set(),
    lockHeld: false,
    startedPostgres: false,
    workFiles: [],
    createdRoles: [],
    stopped: [],
    swapped: false,
    step: 'starting',
  };
}

/** Reads which of `names` exist, with owner and comment. */
export async function readDatabases(host: HostCommands, pg: PgTools, names: readonly string[]) {
  return parseDatabaseRows((await host.read(psqlCommand(pg, [databaseStateSql(names)]))).stdout);
}

/** Takes the restore lock, or throws naming its live holder; a stale one is taken over with a log line. */
export async function takeLock(run: RestoreRun): Promise<void> {
  const { ctx } = run;
  const lockFile = DATABASE_DEFAULTS.lock;
  run.step = 'taking the restore lock';
  const out = await ctx.change(lockAcquireCommand(lockFile, DATABASE_DEFAULTS.lockSeconds, run.token));
  const lock = parseLock(out?.stdout ?? 'locked=1');
  if (!lock.locked) {
    const [pid = '?', since = '?'] = lock.holder.split(' ');
    throw new PefError(
      'pef/task-failed',
      /^\d+$/.test(pid)
        ? `Another restore is running on ${ctx.target.name} (pid ${pid}, since ${since}; lock ${lockFile}). Nothing was changed. Wait for it to finish; if no pef run is restoring, end the holder with \`kill ${pid}\` on ${ctx.target.name}.`
        : `The restore lock ${lockFile} on ${ctx.target.name} cannot be taken: ${lock.holder}. Nothing was changed.`,
      { lock: lockFile, holder: lock.holder },
    );
  }
  run.lockHeld = true;
  if (lock.stale) ctx.log(`took over a stale restore lock ${lockFile} (its holder is gone): it said "${lock.stale}"`);
  ctx.atRisk(`the restore lock ${lockFile} is held by pid ${lock.pid}: end it with \`kill ${lock.pid}\``);
}

/** Starts the database server when it was not running (it is left running afterwards). */
export async function startDatabase(run: RestoreRun, names: readonly string[]): Promise<boolean> {
  const { ctx, facts, pg } = run;
  const service = DATABASE_SERVICE[facts.flavor];
  run.step = `starting ${service}`;
  await ctx.change(serviceCommand(facts.serviceManager, 'start', service));
  run.startedPostgres = true;
  if (ctx.noop) return false;
  run.rows = await readDatabases(ctx, pg, names);
  return true;
}

/**
 * The checksum of a dump a dry run has not seen (its dump_db was only previewed): the copy prints
 * it, a runbook keeps it, and the swap's marker names it (src/task/run-time-value.ts).
 */
export function dumpChecksumToCome(database: string): RunTimeCapture {
  return {
    name: captureName(database, 'dump_sha256'),
    pattern: '[0-9a-f]{64}',
    what: `the sha256 of the ${database} dump`,
  };
}

/** Copies each dump into the superuser's work dir, hashing what is written: what was checked is what is restored. */
export async function copyDumps(run: RestoreRun): Promise<void> {
  const { ctx, pg } = run;
  for (const p of run.todo) {
    run.step = `copying the dump of ${p.database}`;
    const work = `${DATABASE_DEFAULTS.workDir}/${p.database}.dump`;
    run.workFiles.push(work);
    const toCome = dumpChecksumToCome(p.database);
    const copied = (
      await ctx.change(
        copyForRestoreCommand(pg, p.path, DATABASE_DEFAULTS.workDir, `${p.database}.dump`),
        p.sha256 === runTimeValue(toCome.name) ? { capture: toCome } : {},
      )
    )?.stdout.trim();
    if (copied !== undefined && copied !== p.sha256) {
      throw new PefError(
        'pef/task-failed',
        `The dump ${p.path} changed while it was being read (sha256 now ${copied}, expected ${p.sha256}).`,
        { database: p.database },
      );
    }
    p.path = work;
  }
}

/** Creates the roles the dumps need that this server lacks, NOLOGIN. */
export async function createRoles(run: RestoreRun, pgRunning: boolean): Promise<void> {
  const { ctx, pg } = run;
  run.step = 'creating missing roles';
  const needed = [...new Set(run.todo.flatMap((p) => p.roles))].sort();
  if (needed.length === 0) return;
  const existing = pgRunning
    ? new Set(
        (
          await ctx.read(
            psqlCommand(pg, [`SELECT rolname FROM pg_roles WHERE rolname IN (${needed.map(sqlLiteral).join(', ')})`]),
          )
        ).stdout
          .split('\n')
          .map((l) => l.trim()),
      )
    : new Set<string>();
  for (const role of needed.filter((r) => !existing.has(r))) {
    await ctx.change(psqlCommand(pg, [createRoleSql(role)]));
    run.createdRoles.push(role);
  }
}

/** Stops the consumer services that run, in dependency order; each is recorded before its stop is sent. */
export async function stopConsumers(run: RestoreRun): Promise<void> {
  const { ctx, facts } = run;
  const consumers: readonly string[] = DATABASE_CONSUMERS[facts.flavor];
  for (const name of stopOrder(
    facts.services.filter((s) => s.running && consumers.includes(s.name)).map((s) => s.name),
  )) {
    run.step = `stopping ${name}`;
    // Recorded first: a stop that errors may still have stopped it, so it is started again either way.
    run.stopped.push(name);
    ctx.atRisk(
      `services ${run.stopped.join(', ')} were stopped for the restore: start them with \`${startOrder(run.stopped)
        .map((s) => serviceCommand(facts.serviceManager, 'start', s))
        .join(' && ')}\``,
    );
    await ctx.change(serviceCommand(facts.serviceManager, 'stop', name));
    ctx.log(`stopped ${name} for the restore; it is started again afterwards`);
  }
}

/** pg_restore of each dump into `<db>_pef_new`. */
export async function restoreIntoNew(run: RestoreRun): Promise<void> {
  const { ctx, pg } = run;
  for (const p of run.todo) {
    const { next } = restoreNames(p.database);
    const owner = run.options.owner ?? run.rows.get(p.database)?.owner ?? p.dumpOwner ?? pg.superuser;
    run.step = `restoring ${p.database} into ${next}`;
    await ctx.change(psqlCommand(pg, dropDatabaseStatements(next)));
    await ctx.change(
      psqlCommand(pg, [
        `CREATE DATABASE ${sqlIdent(next)} OWNER ${sqlIdent(owner)} ENCODING 'UTF8' TEMPLATE template0`,
      ]),
    );
    await ctx.change(
      asSuperuser(pg, 'pg_restore', [
        '--exit-on-error',
        '--no-password',
        '-j',
        String(run.options.jobs),
        '-d',
        next,
        p.path,
      ]),
      { timeoutMs: DATABASE_COPY_TIMEOUT_MS },
    );
  }
}

/** The swap, in one transaction: each restored database takes its name, the current one becomes `<db>_pef_old`. */
export async function swapIn(run: RestoreRun): Promise<void> {
  const { ctx, pg } = run;
  run.step = 'swapping the restored databases in';
  for (const p of run.todo)
    if (run.existedBefore.has(p.database))
      await ctx.change(psqlCommand(pg, dropDatabaseStatements(restoreNames(p.database).previous)));
  await ctx.change(
    psqlCommand(
      pg,
      swapStatements(
        run.todo.map((p) => ({
          database: p.database,
          exists: run.existedBefore.has(p.database),
          marker: restoreMarker(p.sha256, p.file),
        })),
      ),
      { single: true },
    ),
  );
  run.swapped = true;
}

/** Drops the replaced databases (unless kept); returns what could not be dropped (nothing is lost by that). */
export async function dropReplaced(run: RestoreRun): Promise<string[]> {
  const failures: string[] = [];
  if (!run.swapped || run.options.keepPrevious) return failures;
  for (const p of run.todo.filter((t) => run.existedBefore.has(t.database))) {
    const { previous } = restoreNames(p.database);
    try {
      await run.ctx.cleanup.change(psqlCommand(run.pg, dropDatabaseStatements(previous)));
    } catch (error) {
      failures.push(`${previous} (${firstLine(error)})`);
    }
  }
  return failures;
}

/**
 * After a failure: each database back under its name (renamed back from `<db>_pef_old` if a swap
 * half-happened), the half-restored `<db>_pef_new` dropped, then checked. One line per database.
 */
export async function putBack(run: RestoreRun): Promise<string[]> {
  const { pg } = run;
  const host = run.ctx.cleanup;
  const lines: string[] = [];
  for (const p of run.todo) {
    const { next, previous } = restoreNames(p.database);
    const existed = run.existedBefore.has(p.database);
    try {
      const rows = await readDatabases(host, pg, [p.database, next, previous]);
      if (existed && !rows.has(p.database) && rows.has(previous))
        await host.change(psqlCommand(pg, [`ALTER DATABASE ${sqlIdent(previous)} RENAME TO ${sqlIdent(p.database)}`]));
      if (rows.has(next)) await host.change(psqlCommand(pg, dropDatabaseStatements(next)));
      const after = await readDatabases(host, pg, [p.database, next]);
      if (after.has(next) || (existed && !after.has(p.database)))
        throw new Error(`afterwards PostgreSQL lists ${[...after.keys()].join(', ') || 'neither'}`);
      lines.push(
        existed ? `previous database ${p.database} kept` : `${p.database} did not exist before and was not created`,
      );
    } catch (error) {
      lines.push(
        `putting ${p.database} back FAILED (${firstLine(error)}): check databases ${p.database}, ${previous} and ${next} by hand`,
      );
    }
  }
  return lines;
}

/** What `release` found; every field was checked on the host. */
export interface ReleaseReport {
  /** Services running again (their status says so). */
  running: string[];
  /** `<service>: <why>` for each that is not, with the command to run. */
  notRunning: string[];
  lockReleased: boolean;
  lockProblem?: string;
  workFilesRemoved: boolean;
}

/** Starts what was stopped (database side first), removes the work files and releases the lock, each checked. */
export async function release(run: RestoreRun): Promise<ReleaseReport> {
  const { facts } = run;
  const host = run.ctx.cleanup;
  const report: ReleaseReport = { running: [], notRunning: [], lockReleased: !run.lockHeld, workFilesRemoved: true };
  for (const name of startOrder(run.stopped)) {
    const start = serviceCommand(facts.serviceManager, 'start', name);
    try {
      await host.change(start);
      const status = run.ctx.noop
        ? 0
        : (await host.read(serviceCommand(facts.serviceManager, 'status', name), { okExitCodes: ANY_EXIT })).exitCode;
      if (status === 0) report.running.push(name);
      else report.notRunning.push(`${name}: started, but its status says it is not running (run \`${start}\`)`);
    } catch (error) {
      report.notRunning.push(`${name}: ${firstLine(error)} (run \`${start}\`)`);
    }
  }
  if (run.workFiles.length > 0) {
    const files = run.workFiles.map(shQuote).join(' ');
    try {
      await host.change(`rm -f -- ${files}; for f in ${files}; do [ ! -e "$f" ] || exit 1; done`);
    } catch {
      report.workFilesRemoved = false;
    }
  }
  if (run.lockHeld) {
    try {
      const out = await host.change(lockReleaseCommand(DATABASE_DEFAULTS.lock, run.token), { okExitCodes: [0, 1] });
      const said = parseKeyValues(out?.stdout ?? 'released=1').get('released') ?? '';
      report.lockReleased = said.startsWith('1');
      if (!report.lockReleased) report.lockProblem = said.replace(/^0 ?/, '') || (out?.stdout.trim() ?? '');
    } catch (error) {
      report.lockProblem = firstLine(error);
    }
  }
  if (report.notRunning.length === 0 && report.lockReleased) run.ctx.atRisk(undefined);
  return report;
}

/** The state `release` left, as clauses for a message. */
export function describeRelease(run: RestoreRun, report: ReleaseReport): string[] {
  const lines: string[] = [];
  if (run.stopped.length === 0) lines.push('no service was stopped');
  else {
    if (report.running.length > 0) lines.push(`services ${report.running.join(', ')} running again (checked)`);
    if (report.notRunning.length > 0) lines.push(`NOT RUNNING: ${report.notRunning.join('; ')}`);
  }
  if (run.startedPostgres) lines.push(`${DATABASE_SERVICE[run.facts.flavor]} was started and is left running`);
  if (run.createdRoles.length > 0) lines.push(`roles ${run.createdRoles.join(', ')} were created (NOLOGIN)`);
  if (!report.workFilesRemoved)
    lines.push(`the work copies ${run.workFiles.join(', ')} could not be removed: remove them by hand`);
  if (run.lockHeld)
    lines.push(
      report.lockReleased
        ? 'lock released (checked)'
        : `the lock ${DATABASE_DEFAULTS.lock} is STILL HELD: ${report.lockProblem ?? 'unknown'}`,
    );
  return lines;
}

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

// An error on one line for a state message: the command's own words are usually on the last lines.
function firstLine(error: unknown): string {
  const flat = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/** CREATE ROLE … NOLOGIN unless it exists (the check also covers a race with another session). */
function createRoleSql(role: string): string {
  return `DO $pef$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${sqlLiteral(role)}) THEN CREATE ROLE ${sqlIdent(role)} NOLOGIN; END IF; END $pef$`;
}
