/**
 * restore_db: put dumps made by dump_db into the replica's PostgreSQL, so a failover keeps
 * PuppetDB's data (oss: facts, catalogs, reports, exported resources) or PE's RBAC & co.
 *
 * Unlike pe_failover's restore_dbs.sh, which dropped the database first and could "exit with
 * services DOWN", the live database is only replaced once its successor is complete:
 * checksum first (a bad dump is refused before anything changes), then under a lock: PostgreSQL
 * running, consumer services stopped (only those that ran), pg_restore into `<db>_pef_new`, and one
 * transaction renames `<db>` to `<db>_pef_old` and `<db>_pef_new` to `<db>`. Whatever fails, the
 * previous database stays (or is renamed back), the new one is dropped, the stopped services are
 * started again, the lock is released, and the error says so: each of those checked first. The
 * phases and their shared state are in src/puppet/db-restore-phases.ts. Ctrl-C cancels between
 * commands and runs the same cleanup (exit 130, the state in the error).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import { sha256Command } from '../src/host/files.js';
import { startOrder } from '../src/host/services.js';
import {
  DATABASE_NAME,
  DATABASE_SERVICE,
  DEFAULT_DATABASES,
  DUMP_FILE,
  isDumpOf,
  isSha256,
  latestDumpCommand,
  mainOwner,
  parseDumpRoles,
  parseLatestDump,
  parseRestoreMarker,
  restoreNames,
  SHIPPED_DUMP_DIR,
  type DatabaseRow,
  type PgTools,
} from '../src/puppet/databases.js';
import {
  copyDumps,
  createRoles,
  dumpChecksumToCome,
  describeRelease,
  dropReplaced,
  newRestoreRun,
  putBack,
  readDatabases,
  release,
  restoreIntoNew,
  startDatabase,
  stopConsumers,
  swapIn,
  takeLock,
  type PlannedRestore,
  type ReleaseReport,
} from '../src/puppet/db-restore-phases.js';
import { assertReplicationAllowed } from '../src/puppet/mode.js';
import { isCancelled } from '../src/runtime/cancellation.js';
import { hasRunTimeValue, runTimeValue } from '../src/task/run-time-value.js';
import { defineTask, type TaskContext } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/** Restores the databases; see the file comment. */
export const restoreDb = defineTask({
  name: 'restore_db',
  description:
    'Restore dump_db dumps on the replica: checksum, lock, new database, atomic swap; on failure the previous database stays and services run again',
  details: `Run on the replica, after dump_db receiver=<replica> on the primary (or point dump_dir at
dumps made on this host). For each database the newest complete dump in <dump_dir>/<db>/ is used,
or the one dump_files names (the plans name the dump they just shipped; in a dry run, where that
dump is not written yet, its checksum is taken when it is copied).
A database that already holds that dump (pef marks it with a comment) is left alone (changed:
false) unless force=true. Only consumer services that were running are stopped, in dependency
order, and started again afterwards; PostgreSQL is started if it was not running, and left running.
Roles the dump needs but this server lacks are created NOLOGIN (a later setup step gives the
service user its password); the value lists them.`,
  params: z.object({
    databases: z
      .array(z.string().regex(DATABASE_NAME))
      .min(1)
      .optional()
      .describe('databases to restore (default: ["puppetdb"] on oss, ["pe-rbac"] on PE)'),
    dump_dir: z
      .string()
      .regex(/^\/\S+$/)
      .default(SHIPPED_DUMP_DIR)
      .describe('where the dumps are: <dump_dir>/<db>/<db>-<stamp>.dump and .sha256'),
    dump_files: z
      .record(z.string().regex(DATABASE_NAME), z.string().regex(DUMP_FILE))
      .optional()
      .describe(
        'the dump to restore per database, by file name, e.g. {"puppetdb": "puppetdb-<stamp>.dump"} (default: the newest)',
      ),
    force: z.boolean().default(false).describe('restore even when the database already holds the newest dump'),
    keep_previous: z
      .boolean()
      .default(false)
      .describe('keep the replaced database as <db>_pef_old (one generation) instead of dropping it'),
    owner: z
      .string()
      .min(1)
      .optional()
      .describe("owner of the restored database (default: the current database's owner, else the dump's main owner)"),
    jobs: z.number().int().min(1).max(16).default(2).describe('parallel pg_restore jobs'),
  }),
  supportsNoop: true,
  // Long on purpose: it reads as the runbook it replaces, each step in order with its refusal
  // beside it; the step helpers live in src/.
  async run(ctx) {
    const host = ctx.target.name;
    // A promoted (active) server or one with the kill-switch set never takes a restore.
    await assertReplicationAllowed(ctx, 'receive', 'restore_db');
    const facts = await discoverHost((c) => ctx.read(c));
    const flavor = facts.flavor;
    const databases: readonly string[] = ctx.params.databases ?? DEFAULT_DATABASES[flavor];
    if (!facts.postgres.bin) {
      throw new PefError(
        'pef/task-failed',
        `No PostgreSQL tools on ${host} (no pg_restore under /usr/lib/postgresql/*/bin or /opt/puppetlabs/server/bin): install the PostgreSQL server package there first. Nothing was changed.`,
        {},
      );
    }
    const pg: PgTools = { bin: facts.postgres.bin, superuser: facts.postgres.superuser };
    const dir = ctx.params.dump_dir.replace(/\/+$/, '');
    const files = ctx.params.dump_files ?? {};
    for (const [database, file] of Object.entries(files))
      if (!databases.includes(database) || !isDumpOf(database)(file))
        throw new PefError(
          'pef/param-error',
          `dump_files names ${file} for ${database}, which is ${databases.includes(database) ? 'not a dump of it' : `not one of the databases restored (${databases.join(', ')})`}: fix dump_files. Nothing was changed.`,
          { database, file },
        );

    // Find and check every dump before anything changes.
    const planned: PlannedRestore[] = [];
    for (const database of databases) planned.push(await findDump(ctx, pg, dir, database, files[database]));

    const dbService = DATABASE_SERVICE[flavor];
    let pgRunning = facts.postgres.databases !== null;
    if (!pgRunning && facts.services.find((s) => s.name === dbService)?.present !== true) {
      throw new PefError(
        'pef/task-failed',
        `PostgreSQL does not answer on ${host} and there is no ${dbService} service to start. Install and set up the database server first. Nothing was changed.`,
        {},
      );
    }
    const names = planned.flatMap((p) => [
      p.database,
      restoreNames(p.database).next,
      restoreNames(p.database).previous,
    ]);
    const pending = (rows: Map<string, DatabaseRow>) =>
      planned.filter((p) => ctx.params.force || parseRestoreMarker(rows.get(p.database)?.comment ?? '') !== p.sha256);
    const report = (p: PlannedRestore, restored: boolean) => ({
      database: p.database,
      dump: p.path,
      // A dump a dry run only previewed has its checksum at run time.
      sha256: hasRunTimeValue(p.sha256) ? null : p.sha256,
      size: p.size,
      restored,
    });

    const run = newRestoreRun(
      ctx,
      facts,
      pg,
      { owner: ctx.params.owner, jobs: ctx.params.jobs, keepPrevious: ctx.params.keep_previous },
      `pef-${randomBytes(6).toString('hex')}`,
    );
    if (pgRunning) run.rows = await readDatabases(ctx, pg, names);
    if (pgRunning && pending(run.rows).length === 0) {
      return {
        changed: false,
        value: {
          flavor,
          databases: planned.map((p) => report(p, false)),
          note: 'every database already holds its newest dump (force=true restores it again)',
        },
      };
    }

    await takeLock(run);
    let failure: unknown;
    let putBackLines: string[] = [];
    let dropFailures: string[];
    let released: ReleaseReport;
    try {
      try {
        if (!pgRunning) pgRunning = await startDatabase(run, names);
        run.todo = pgRunning ? pending(run.rows) : planned;
        for (const p of run.todo) if (run.rows.has(p.database)) run.existedBefore.add(p.database);
        if (run.todo.length > 0) {
          await copyDumps(run);
          await createRoles(run, pgRunning);
          // Consumers stop only now: everything that can be checked without stopping them was.
          await stopConsumers(run);
          await restoreIntoNew(run);
          await swapIn(run);
        }
      } catch (error) {
        failure = error;
        if (!ctx.noop) putBackLines = await putBack(run);
      }
      // The replaced databases go once the new ones are in; failing here loses nothing.
      dropFailures = await dropReplaced(run);
    } finally {
      released = await release(run);
    }

    const state = describeRelease(run, released);
    const problems = released.notRunning.length > 0 || !released.lockReleased;
    if (failure !== undefined) {
      const cancelled = isCancelled(failure) || ctx.signal.aborted;
      const dbState = run.todo.length === 0 ? ['no database was changed'] : putBackLines;
      throw new PefError(
        cancelled ? 'pef/cancelled' : 'pef/task-failed',
        `restore_db on ${host} ${cancelled ? 'was interrupted' : 'failed'} while ${run.step}: ${(failure as Error).message.trim()}\nState: ${[...dbState, ...state].join('; ')}.`,
        {
          step: run.step,
          stopped: run.stopped,
          not_running: released.notRunning,
          lock_released: released.lockReleased,
          databases: dbState,
          created_roles: run.createdRoles,
        },
      );
    }
    if (problems) {
      throw new PefError(
        'pef/task-failed',
        `restore_db on ${host} restored ${run.todo.map((p) => p.database).join(', ') || 'nothing'}, but: ${state.join('; ')}.`,
        { stopped: run.stopped, not_running: released.notRunning, lock_released: released.lockReleased },
      );
    }
    if (run.todo.length === 0)
      return {
        changed: run.startedPostgres,
        value: { flavor, started_postgresql: run.startedPostgres, databases: planned.map((p) => report(p, false)) },
      };
    for (const d of dropFailures)
      ctx.log(`could not drop the replaced database ${d}; drop it by hand to free its space`);
    return {
      changed: true,
      value: {
        flavor,
        databases: planned.map((p) => report(p, run.todo.includes(p))),
        stopped_and_started: startOrder(run.stopped),
        started_postgresql: run.startedPostgres,
        created_roles: run.createdRoles,
        ...(ctx.params.keep_previous || dropFailures.length
          ? {
              previous_kept: run.todo
                .filter((p) => run.existedBefore.has(p.database))
                .map((p) => restoreNames(p.database).previous),
            }
          : {}),
      },
    };
  },
});

/** The newest complete dump of `database` (or `file`), checked against its .sha256 (read-only). */
async function findDump(
  ctx: TaskContext<unknown>,
  pg: PgTools,
  dir: string,
  database: string,
  file: string | undefined,
): Promise<PlannedRestore> {
  const host = ctx.target.name;
  const found = parseLatestDump((await ctx.read(latestDumpCommand(dir, database, file))).stdout);
  if (!found && ctx.noop && file !== undefined) {
    // A dry run's dump_db only previewed this dump: what depends on its content is known at run time.
    ctx.log(
      `${database}: ${file} is not on ${host} yet (the dump before ships it); its checksum is taken when it is copied, and the roles it needs are not read now (a role ${host} lacks makes pg_restore fail)`,
    );
    return {
      database,
      path: `${dir}/${database}/${file}`,
      file,
      sha256: runTimeValue(dumpChecksumToCome(database).name),
      size: Number.NaN,
      roles: [],
      dumpOwner: null,
    };
  }
  if (!found) {
    throw new PefError(
      'pef/task-failed',
      `No complete dump of ${database} ${file === undefined ? 'in' : `named ${file} in`} ${dir}/${database}/ on ${host} (a dump counts once its .sha256 is there). Run dump_db receiver=${host} on the primary, or set dump_dir. Nothing was changed.`,
      { dir, database, ...(file === undefined ? {} : { file }) },
    );
  }
  const path = `${dir}/${database}/${found.file}`;
  if (!isSha256(found.expected)) {
    throw new PefError(
      'pef/task-failed',
      `${path}.sha256 on ${host} holds no sha256; the dump cannot be checked and is refused. Nothing was changed.`,
      { path },
    );
  }
  const actual = (await ctx.read(sha256Command(path))).stdout.trim();
  if (actual !== found.expected) {
    throw new PefError(
      'pef/task-failed',
      `Checksum mismatch for ${path} on ${host}: sha256 ${actual}, but ${found.file}.sha256 says ${found.expected}. The dump is damaged or incomplete and was refused; nothing was changed and no service was stopped. Run dump_db again on the primary.`,
      { path, expected: found.expected, actual },
    );
  }
  // The schema as SQL (no data, no connection) names every role the restore needs.
  const schemaRead = await ctx.read(`${shQuote(`${pg.bin}/pg_restore`)} -s -f - ${shQuote(path)}`, {
    okExitCodes: Array.from({ length: 256 }, (_, i) => i),
  });
  if (schemaRead.exitCode !== 0) {
    throw new PefError(
      'pef/task-failed',
      `${path} on ${host} matches its checksum but is not a dump pg_restore can read (${schemaRead.stderr.trim().split('\n')[0] ?? ''}). It was refused; nothing was changed and no service was stopped. Run dump_db again on the primary.`,
      { path },
    );
  }
  const schema = schemaRead.stdout;
  return {
    database,
    path,
    file: found.file,
    sha256: actual,
    size: found.size,
    roles: parseDumpRoles(schema),
    dumpOwner: mainOwner(schema),
  };
}
