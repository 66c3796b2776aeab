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
 * started again, the lock is released, and the error says so.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import { sha256Command } from '../src/host/files.js';
import { assertReplicationAllowed } from '../src/puppet/mode.js';
import { serviceCommand, startOrder, stopOrder } from '../src/host/services.js';
import {
  asSuperuser,
  copyForRestoreCommand,
  DATABASE_CONSUMERS,
  DATABASE_DEFAULTS,
  DATABASE_NAME,
  DATABASE_SERVICE,
  databaseStateSql,
  DEFAULT_DATABASES,
  dropDatabaseStatements,
  isSha256,
  latestDumpCommand,
  lockAcquireCommand,
  lockReleaseCommand,
  mainOwner,
  parseDatabaseRows,
  parseDumpRoles,
  parseLatestDump,
  parseLock,
  parseRestoreMarker,
  type DatabaseRow,
  type PgTools,
  psqlCommand,
  restoreMarker,
  restoreNames,
  SHIPPED_DUMP_DIR,
  sqlIdent,
  sqlLiteral,
  swapStatements,
} from '../src/puppet/databases.js';
import { defineTask, type TaskContext } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/** One database to restore, once its dump is found and checked. */
interface Planned {
  database: string;
  /** The dump on the host, and its verified sha256. */
  path: string;
  file: string;
  sha256: string;
  size: number;
  /** The roles its objects name (owners, grantees). */
  roles: string[];
  dumpOwner: string | null;
}

/** Restores the databases; see the file comment. */
export const restoreDb = defineTask({
  name: 'restore_db',
  description:
    'Restore dump_db dumps on the replica: checksum, lock, new database, atomic swap; on failure the previous database stays and services run again',
  details: `Run on the replica, after dump_db receiver=<replica> on the primary (or point dump_dir at
dumps made on this host). For each database the newest complete dump in <dump_dir>/<db>/ is used.
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

    // Find and check every dump before anything changes.
    const planned: Planned[] = [];
    for (const database of databases) planned.push(await findDump(ctx, pg, dir, database));

    const dbService = DATABASE_SERVICE[flavor];
    const dbServiceFact = facts.services.find((s) => s.name === dbService);
    let pgRunning = facts.postgres.databases !== null;
    if (!pgRunning && dbServiceFact?.present !== true) {
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
    const readState = async (): Promise<Map<string, DatabaseRow>> =>
      parseDatabaseRows((await ctx.read(psqlCommand(pg, [databaseStateSql(names)]))).stdout);
    const pending = (rows: Map<string, DatabaseRow>) =>
      planned.filter((p) => ctx.params.force || parseRestoreMarker(rows.get(p.database)?.comment ?? '') !== p.sha256);
    const report = (p: Planned, restored: boolean) => ({
      database: p.database,
      dump: p.path,
      sha256: p.sha256,
      size: p.size,
      restored,
    });

    let rows = pgRunning ? await readState() : new Map<string, DatabaseRow>();
    if (pgRunning && pending(rows).length === 0) {
      return {
        changed: false,
        value: {
          flavor,
          databases: planned.map((p) => report(p, false)),
          note: 'every database already holds its newest dump (force=true restores it again)',
        },
      };
    }

    const token = `pef-${randomBytes(6).toString('hex')}`;
    const lock = parseLock(
      (await ctx.change(lockAcquireCommand(DATABASE_DEFAULTS.lock, DATABASE_DEFAULTS.lockSeconds, token)))?.stdout ??
        `locked=1`,
    );
    if (!lock.locked) {
      const [pid = '?', since = '?'] = lock.holder.split(' ');
      throw new PefError(
        'pef/task-failed',
        `Another restore is running on ${host} (pid ${pid}, since ${since}; lock ${DATABASE_DEFAULTS.lock}). Nothing was changed. Wait for it to finish; if no pef run is restoring, end the stale holder with \`kill ${pid}\` on ${host}.`,
        { lock: DATABASE_DEFAULTS.lock, holder: lock.holder },
      );
    }

    const workFiles: string[] = [];
    const stopped: string[] = [];
    const createdRoles: string[] = [];
    let startedPostgres = false;
    let step = 'starting';
    let todo: Planned[] = [];
    const existedBefore = new Set<string>();
    let swapped = false;
    let failure: unknown;
    let putBack: string[] = [];
    let restartFailures: string[] = [];
    const dropFailures: string[] = [];
    try {
      try {
        if (!pgRunning) {
          step = `starting ${dbService}`;
          await ctx.change(serviceCommand(facts.serviceManager, 'start', dbService));
          startedPostgres = true;
          pgRunning = !ctx.noop;
          if (pgRunning) rows = await readState();
        }
        todo = pgRunning ? pending(rows) : planned;
        for (const p of todo) if (rows.has(p.database)) existedBefore.add(p.database);
        if (todo.length === 0)
          return {
            changed: startedPostgres,
            value: { flavor, started_postgresql: startedPostgres, databases: planned.map((p) => report(p, false)) },
          };

        // The copy that gets restored is hashed as it is written: what was checked is what is restored.
        for (const p of todo) {
          step = `copying the dump of ${p.database}`;
          const work = `${DATABASE_DEFAULTS.workDir}/${p.database}.dump`;
          workFiles.push(work);
          const copied = (
            await ctx.change(copyForRestoreCommand(pg, p.path, DATABASE_DEFAULTS.workDir, `${p.database}.dump`))
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

        step = 'creating missing roles';
        const needed = [...new Set(todo.flatMap((p) => p.roles))].sort();
        const existing =
          pgRunning && needed.length > 0
            ? new Set(
                (
                  await ctx.read(
                    psqlCommand(pg, [
                      `SELECT rolname FROM pg_roles WHERE rolname IN (${needed.map(sqlLiteral).join(', ')})`,
                    ]),
                  )
                ).stdout
                  .split('\n')
                  .map((l) => l.trim()),
              )
            : new Set<string>();
        for (const role of needed.filter((r) => !existing.has(r))) {
          await ctx.change(psqlCommand(pg, [createRoleSql(role)]));
          createdRoles.push(role);
        }

        // Consumers stop only now: everything that can be checked without stopping them was.
        const consumers: readonly string[] = DATABASE_CONSUMERS[flavor];
        for (const name of stopOrder(
          facts.services.filter((s) => s.running && consumers.includes(s.name)).map((s) => s.name),
        )) {
          step = `stopping ${name}`;
          await ctx.change(serviceCommand(facts.serviceManager, 'stop', name));
          stopped.push(name);
        }

        for (const p of todo) {
          const { next } = restoreNames(p.database);
          const owner = ctx.params.owner ?? rows.get(p.database)?.owner ?? p.dumpOwner ?? pg.superuser;
          step = `restoring ${p.database} into ${next}`;
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
              String(ctx.params.jobs),
              '-d',
              next,
              p.path,
            ]),
          );
        }

        step = 'swapping the restored databases in';
        for (const p of todo)
          if (existedBefore.has(p.database))
            await ctx.change(psqlCommand(pg, dropDatabaseStatements(restoreNames(p.database).previous)));
        await ctx.change(
          psqlCommand(
            pg,
            swapStatements(
              todo.map((p) => ({
                database: p.database,
                exists: existedBefore.has(p.database),
                marker: restoreMarker(p.sha256, p.file),
              })),
            ),
            { single: true },
          ),
        );
        swapped = true;
      } catch (error) {
        failure = error;
        if (!ctx.noop) putBack = await putBackDatabases(ctx, pg, todo, existedBefore);
      }

      // The replaced databases go once the new ones are in; failing here loses nothing.
      if (swapped && !ctx.params.keep_previous) {
        for (const p of todo.filter((t) => existedBefore.has(t.database))) {
          try {
            await ctx.change(psqlCommand(pg, dropDatabaseStatements(restoreNames(p.database).previous)));
          } catch (error) {
            dropFailures.push(`${restoreNames(p.database).previous} (${(error as Error).message.split('\n')[0]})`);
          }
        }
      }
    } finally {
      restartFailures = await startAgain(ctx, facts.serviceManager, stopped);
      await ctx
        .change(`rm -f ${workFiles.map(shQuote).join(' ')}; ${lockReleaseCommand(DATABASE_DEFAULTS.lock, token)}`)
        .catch((error: unknown) => ctx.log(`could not release ${DATABASE_DEFAULTS.lock}: ${(error as Error).message}`));
    }

    const servicesState =
      stopped.length === 0
        ? 'no service was stopped'
        : restartFailures.length === 0
          ? `services ${startOrder(stopped).join(', ')} running again`
          : `services ${
              startOrder(stopped)
                .filter((s) => !restartFailures.some((f) => f.startsWith(`${s} `)))
                .join(', ') || '(none)'
            } running again, BUT ${restartFailures.join('; ')} did not start: start them by hand (pef task run service action=start)`;
    const extras = [
      ...(startedPostgres ? [`${dbService} was started and is left running`] : []),
      ...(createdRoles.length ? [`roles ${createdRoles.join(', ')} were created (NOLOGIN)`] : []),
    ];
    if (failure !== undefined) {
      const dbState = todo.length === 0 ? ['no database was changed'] : putBack;
      throw new PefError(
        'pef/task-failed',
        `restore_db on ${host} failed while ${step}: ${(failure as Error).message.trim()}\nState: ${[...dbState, servicesState, ...extras, 'lock released'].join('; ')}.`,
        { step, stopped, restart_failures: restartFailures, databases: dbState, created_roles: createdRoles },
      );
    }
    if (restartFailures.length > 0) {
      throw new PefError(
        'pef/task-failed',
        `restore_db on ${host} restored ${todo.map((p) => p.database).join(', ')}, but ${servicesState}.`,
        { stopped, restart_failures: restartFailures },
      );
    }
    for (const d of dropFailures)
      ctx.log(`could not drop the replaced database ${d}; drop it by hand to free its space`);
    return {
      changed: true,
      value: {
        flavor,
        databases: planned.map((p) => report(p, todo.includes(p))),
        stopped_and_started: startOrder(stopped),
        started_postgresql: startedPostgres,
        created_roles: createdRoles,
        ...(ctx.params.keep_previous || dropFailures.length
          ? {
              previous_kept: todo
                .filter((p) => existedBefore.has(p.database))
                .map((p) => restoreNames(p.database).previous),
            }
          : {}),
      },
    };
  },
});

/** The newest complete dump of `database`, checked against its .sha256 (read-only). */
async function findDump(ctx: TaskContext<unknown>, pg: PgTools, dir: string, database: string): Promise<Planned> {
  const host = ctx.target.name;
  const found = parseLatestDump((await ctx.read(latestDumpCommand(dir, database))).stdout);
  if (!found) {
    throw new PefError(
      'pef/task-failed',
      `No complete dump of ${database} in ${dir}/${database}/ on ${host} (a dump counts once its .sha256 is there). Run dump_db receiver=${host} on the primary, or set dump_dir. Nothing was changed.`,
      { dir, database },
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

/** CREATE ROLE … NOLOGIN unless it exists (the check also covers a race with another session). */
function createRoleSql(role: string): string {
  return `DO $pef$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${sqlLiteral(role)}) THEN CREATE ROLE ${sqlIdent(role)} NOLOGIN; END IF; END $pef$`;
}

/**
 * After a failure: each database back under its name (renamed back from `<db>_pef_old` if a swap
 * half-happened), the half-restored `<db>_pef_new` dropped. Returns one line per database.
 */
async function putBackDatabases(
  ctx: TaskContext<unknown>,
  pg: PgTools,
  todo: readonly Planned[],
  existedBefore: ReadonlySet<string>,
): Promise<string[]> {
  const lines: string[] = [];
  for (const p of todo) {
    const { next, previous } = restoreNames(p.database);
    try {
      const rows = parseDatabaseRows(
        (await ctx.read(psqlCommand(pg, [databaseStateSql([p.database, next, previous])]))).stdout,
      );
      if (existedBefore.has(p.database) && !rows.has(p.database) && rows.has(previous)) {
        await ctx.change(psqlCommand(pg, [`ALTER DATABASE ${sqlIdent(previous)} RENAME TO ${sqlIdent(p.database)}`]));
      }
      if (rows.has(next)) await ctx.change(psqlCommand(pg, dropDatabaseStatements(next)));
      lines.push(
        existedBefore.has(p.database)
          ? `previous database ${p.database} kept`
          : `${p.database} did not exist before and was not created`,
      );
    } catch (error) {
      lines.push(
        `putting ${p.database} back FAILED (${(error as Error).message.split('\n')[0]}): check databases ${p.database}, ${previous} and ${next} by hand`,
      );
    }
  }
  return lines;
}

/** Starts what the restore stopped, database side first; returns `<service> (<why>)` per failure. */
async function startAgain(
  ctx: TaskContext<unknown>,
  manager: Parameters<typeof serviceCommand>[0],
  stopped: readonly string[],
): Promise<string[]> {
  const failures: string[] = [];
  for (const name of startOrder(stopped)) {
    try {
      await ctx.change(serviceCommand(manager, 'start', name));
    } catch (error) {
      failures.push(`${name} (${(error as Error).message.split('\n')[0]})`);
    }
  }
  return failures;
}
