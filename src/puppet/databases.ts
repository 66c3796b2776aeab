/**
 * Dumping and restoring Puppet's PostgreSQL databases (dump_db, restore_db): the command text and
 * the parsers of its output, kept pure so they can be tested without a database.
 *
 * Layout, the same on the sender and the receiver: `<dir>/<db>/<db>-<stamp>.dump` (pg_dump custom
 * format) with `<file>.sha256` beside it (`sha256sum` format). A dump counts only once its
 * `.sha256` exists: both are written under temp names and renamed, the checksum last.
 * The restore goes into `<db>_pef_new` and is swapped in by two renames in one transaction.
 */
import { parseKeyValues } from '../util/key-value.js';
import { archiveWriteCommand } from '../host/archive.js';
import { PEF_RUN_DIR } from '../host/root-dir.js';
import { shJoin, shQuote } from '../util/shell-quote.js';
import { TRANSFER_DEFAULTS } from './transfer.js';

/** What pef needs to run PostgreSQL's tools on a host; both come from discovery. */
export interface PgTools {
  /** Directory of pg_dump, pg_restore, psql (`facts.postgres.bin`). */
  bin: string;
  /** The OS user that is the database superuser (`postgres`, PE: `pe-postgres`). */
  superuser: string;
}

/** Where dumps, restore work copies and the restore lock live by default. */
export const DATABASE_DEFAULTS = {
  dumpDir: '/var/lib/pef/dumps',
  retention: 3,
  /** Under the dump dir: hard links to the newest dump of each database, what gets shipped. */
  outbox: '.outbox',
  /** The name the outbox lands under in the receiver's `incoming/`. */
  shipName: 'dumps',
  workDir: '/var/lib/pef/restore',
  /** In pef's root-only run dir, not /run/lock (mode 1777, where anyone could hold it). */
  lock: `${PEF_RUN_DIR}/restore-db.lock`,
  /** The longest a lock holder lives if neither the task nor its cleanup ends it (pef killed outright). */
  lockSeconds: 4 * 3600,
} as const;

/** Where shipped dumps land on the receiver with the default transfer user (restore_db's default). */
export const SHIPPED_DUMP_DIR = `${TRANSFER_DEFAULTS.home}/incoming/${DATABASE_DEFAULTS.shipName}`;

/** The databases dumped and restored when none are named. */
export const DEFAULT_DATABASES = { oss: ['puppetdb'], pe: ['pe-rbac'] } as const;

/** Services that use the databases: stopped (if running) for a restore, started again after. */
export const DATABASE_CONSUMERS = {
  oss: ['puppet', 'puppetserver', 'puppetdb'],
  pe: ['puppet', 'pe-orchestration-services', 'pe-nginx', 'pe-console-services', 'pe-puppetserver', 'pe-puppetdb'],
} as const;

/** The database server's own service, which must run for a dump or a restore. */
export const DATABASE_SERVICE = { oss: 'postgresql', pe: 'pe-postgresql' } as const;

/** Names pef accepts for a database; the suffixes it uses itself are refused. */
export const DATABASE_NAME = /^(?!.*_pef_(new|old)$)[a-z][a-z0-9_-]{0,50}$/;

/** Runs a PostgreSQL tool as the superuser (peer authentication on the local socket). */
export function asSuperuser(
  pg: PgTools,
  tool: 'pg_dump' | 'pg_restore' | 'psql' | 'createdb' | 'dropdb',
  args: readonly string[],
): string {
  // cd /: runuser keeps the cwd, and root's home is not readable by the superuser.
  return `cd / && runuser -u ${shQuote(pg.superuser)} -- ${shQuote(`${pg.bin}/${tool}`)} ${shJoin(args)}`;
}

/** A psql command running `statements` against `database` (one transaction when `single`). */
export function psqlCommand(
  pg: PgTools,
  statements: readonly string[],
  options: { database?: string; single?: boolean } = {},
): string {
  const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', options.database ?? 'postgres'];
  if (options.single === true) args.push('-1');
  for (const sql of statements) args.push('-c', sql);
  return asSuperuser(pg, 'psql', args);
}

/** A SQL identifier, always double-quoted (database names such as pe-rbac need it). */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL string literal. */
export function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A sortable UTC stamp for a dump's name, down to the millisecond: 20250102T030405678Z. */
export function dumpStamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

/** The file name of a dump of `database` taken at `stamp`. */
export function dumpFileName(database: string, stamp: string): string {
  return `${database}-${stamp}.dump`;
}

/**
 * How long one pg_dump or pg_restore may run: a large PuppetDB takes far longer than the default
 * command limit (10 minutes). Service starts stay under the default: the units' own start
 * timeouts (and the lab shim's 300 s) end a stuck start first.
 */
export const DATABASE_COPY_TIMEOUT_MS = 4 * 3_600_000;

/**
 * Writes one dump as a checksummed archive (src/host/archive.ts): pg_dump -Fc as the superuser
 * into a temp name in `<dir>/<db>/` (created 0700, owned by the superuser), its checksum beside
 * it, both renamed into place (checksum last). Prints `size=` and `sha256=`. A failed dump leaves
 * no file behind.
 */
export function dumpCommand(pg: PgTools, database: string, dir: string, file: string): string {
  return archiveWriteCommand({
    dir: `${dir}/${database}`,
    name: file,
    owner: pg.superuser,
    produce: `${asSuperuser(pg, 'pg_dump', ['-Fc', '-d', database])} -f "$tmp"`,
  });
}

/** A dump's file name as `dumpFileName` makes it (what restore_db's `dump_files` takes). */
export const DUMP_FILE = /^[a-z][a-z0-9_-]{0,50}-\d{8}T\d{9}Z\.dump$/;

/** Which names in `<dir>/<db>/` are dumps of `database` (`dumpFileName`; they sort by time). */
export function isDumpOf(database: string): (name: string) => boolean {
  const prefix = `${database}-`;
  return (name) => name.startsWith(prefix) && /^\d{8}T\d{9}Z\.dump$/.test(name.slice(prefix.length));
}

/**
 * Prints the newest complete dump in `<dir>/<db>/` (or the one named `file`, if it is complete) as
 * `file=`, `expected=` (from its .sha256), `size=`; nothing if none.
 */
export function latestDumpCommand(dir: string, database: string, file?: string): string {
  return [
    `cd ${shQuote(`${dir}/${database}`)} 2>/dev/null || exit 0`,
    `for f in ${file === undefined ? '$(ls -1 -- *.dump 2>/dev/null | sort -r)' : shQuote(file)}; do`,
    '  if [ -f "$f" ] && [ -f "$f.sha256" ]; then echo "file=$f"; echo "expected=$(head -c 64 "$f.sha256")"; echo "size=$(stat -c %s "$f")"; break; fi',
    'done',
  ].join('\n');
}

/** A newest complete dump as `latestDumpCommand` reports it. */
export interface DumpFile {
  file: string;
  expected: string;
  size: number;
}

/** Reads `latestDumpCommand`'s output; null when there is no complete dump. */
export function parseLatestDump(stdout: string): DumpFile | null {
  const kv = parseKeyValues(stdout);
  const file = kv.get('file');
  if (!file) return null;
  return { file, expected: (kv.get('expected') ?? '').toLowerCase(), size: Number(kv.get('size') ?? 'NaN') };
}

/** True for a sha256 in hex. */
export function isSha256(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

/**
 * Copies a dump into the superuser's private work dir and prints the sha256 of exactly the bytes
 * written (one pass): what gets restored is what was checked, even if the source changes meanwhile.
 * Fails (exit 3) unless those bytes match the dump's `.sha256`, so the copy checks itself where
 * no one reads its output (a runbook).
 */
export function copyForRestoreCommand(pg: PgTools, source: string, workDir: string, name: string): string {
  const dst = `${workDir}/${name}`;
  const src = shQuote(source);
  return [
    'set -e',
    'umask 077',
    `install -d -m 700 -o ${shQuote(pg.superuser)} ${shQuote(workDir)}`,
    // The source is read without following a link (the sender controls the incoming dir) and
    // written by the superuser itself into its own dir: root writes nothing there.
    `[ -f ${src} ] && [ ! -L ${src} ] || { echo "pef: ${source} is not a regular file" >&2; exit 3; }`,
    `sum=$(cd / && dd if=${src} iflag=nofollow status=none | runuser -u ${shQuote(pg.superuser)} -- tee ${shQuote(dst)} | sha256sum | cut -d ' ' -f 1)`,
    `expected=$(dd if=${shQuote(`${source}.sha256`)} iflag=nofollow bs=64 count=1 status=none | tr A-F a-f)`,
    `[ "$sum" = "$expected" ] || { echo "pef: the copy of ${source} has sha256 $sum, but its .sha256 says $expected" >&2; exit 3; }`,
    'echo "$sum"',
  ].join('\n');
}

/**
 * The roles a dump needs, from its schema as SQL (`pg_restore -s -f -`): owners, grantees and
 * revokees. PUBLIC and built-in `pg_*` roles are left out.
 */
export function parseDumpRoles(schemaSql: string): string[] {
  const roles = new Set<string>();
  const role = String.raw`("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$-]*)`;
  const patterns = [
    new RegExp(String.raw`^ALTER\b.*\bOWNER TO ${role};$`, 'gm'),
    new RegExp(String.raw`^GRANT\b.*\bTO ${role}(?: WITH GRANT OPTION)?;`, 'gm'),
    new RegExp(String.raw`^REVOKE\b.*\bFROM ${role};`, 'gm'),
  ];
  for (const pattern of patterns) {
    for (const match of schemaSql.matchAll(pattern)) {
      const raw = match[1] ?? '';
      const name = raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
      if (name.toUpperCase() !== 'PUBLIC' && !name.startsWith('pg_')) roles.add(name);
    }
  }
  return [...roles].sort();
}

/** The role that owns most objects in a dump's schema SQL (the database's owner on the source), or null. */
export function mainOwner(schemaSql: string): string | null {
  const counts = new Map<string, number>();
  for (const match of schemaSql.matchAll(/^ALTER\b.*\bOWNER TO ("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$-]*);$/gm)) {
    const raw = match[1] ?? '';
    const name = raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  let best: string | null = null;
  let most = 0;
  for (const [name, n] of counts) if (n > most) [best, most] = [name, n];
  return best;
}

/** The comment pef puts on a database it restored: which dump is in it. */
export function restoreMarker(sha256: string, file: string): string {
  return `pef-restore sha256=${sha256} file=${file}`;
}

/** The sha256 from a restore marker, or null for any other comment. */
export function parseRestoreMarker(comment: string): string | null {
  return /^pef-restore sha256=([0-9a-f]{64})\b/.exec(comment.trim())?.[1] ?? null;
}

/** A database as `databaseStateSql` reports it. */
export interface DatabaseRow {
  name: string;
  owner: string;
  comment: string;
}

/** SQL listing `names` that exist, as `name|owner|comment` lines. */
export function databaseStateSql(names: readonly string[]): string {
  return `SELECT datname, pg_get_userbyid(datdba), coalesce(replace(shobj_description(oid, 'pg_database'), E'\\n', ' '), '') FROM pg_database WHERE datname IN (${names.map(sqlLiteral).join(', ')}) ORDER BY 1`;
}

/** Reads `databaseStateSql`'s output (psql -A -t). */
export function parseDatabaseRows(stdout: string): Map<string, DatabaseRow> {
  const rows = new Map<string, DatabaseRow>();
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [name = '', owner = '', ...rest] = line.split('|');
    rows.set(name, { name, owner, comment: rest.join('|') });
  }
  return rows;
}

/** Names of the restore's temporary databases. */
export function restoreNames(database: string): { next: string; previous: string } {
  return { next: `${database}_pef_new`, previous: `${database}_pef_old` };
}

/** Statements that end every other session on `databases` (the rename waits up to 5 s for them to go). */
export function terminateSql(databases: readonly string[]): string {
  return `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN (${databases.map(sqlLiteral).join(', ')}) AND pid <> pg_backend_pid()`;
}

/**
 * The swap, as statements for one transaction: the restored database takes the name, the
 * current one (if any) becomes `<db>_pef_old`, and the new one is marked with the dump it holds.
 * Either all of it happens or none.
 */
export function swapStatements(swaps: readonly { database: string; exists: boolean; marker: string }[]): string[] {
  const all = swaps.flatMap((s) => [s.database, restoreNames(s.database).next]);
  return [
    terminateSql(all),
    ...swaps.flatMap((s) => {
      const { next, previous } = restoreNames(s.database);
      return [
        ...(s.exists ? [`ALTER DATABASE ${sqlIdent(s.database)} RENAME TO ${sqlIdent(previous)}`] : []),
        `ALTER DATABASE ${sqlIdent(next)} RENAME TO ${sqlIdent(s.database)}`,
        `COMMENT ON DATABASE ${sqlIdent(s.database)} IS ${sqlLiteral(s.marker)}`,
      ];
    }),
  ];
}

/** Drops a database if it exists, after ending its sessions (DROP DATABASE cannot run in a transaction). */
export function dropDatabaseStatements(name: string): string[] {
  return [terminateSql([name]), `DROP DATABASE IF EXISTS ${sqlIdent(name)}`];
}

/**
 * restore_db's `dump_files` for what one dump_db run reported (its value's `dumps`, each with
 * `database` and `file`): each database's file name, as it lands in the receiver's incoming dir.
 */
export function dumpFilesOf(value: Record<string, unknown> | undefined): Record<string, string> {
  const dumps = Array.isArray(value?.['dumps']) ? (value['dumps'] as Record<string, unknown>[]) : [];
  return Object.fromEntries(
    dumps.flatMap((d) =>
      typeof d['database'] === 'string' && typeof d['file'] === 'string'
        ? [[d['database'], d['file'].slice(d['file'].lastIndexOf('/') + 1)]]
        : [],
    ),
  );
}
