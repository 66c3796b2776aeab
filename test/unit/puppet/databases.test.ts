/**
 * The dump/restore building blocks. The file-handling scripts run for real here (sh on the
 * controller, temp dirs, a stand-in pg_dump, the controller's own user as "superuser"): atomic
 * dump with checksum, retention, outbox, newest-dump selection and copy-and-hash.
 * The SQL builders and the parsers of pg_restore/psql output are checked on text.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import {
  copyForRestoreCommand,
  DATABASE_NAME,
  databaseStateSql,
  dropDatabaseStatements,
  dumpCommand,
  dumpFileName,
  dumpStamp,
  isDumpOf,
  latestDumpCommand,
  mainOwner,
  parseDatabaseRows,
  parseDumpRoles,
  parseLatestDump,
  parseRestoreMarker,
  psqlCommand,
  restoreMarker,
  sqlIdent,
  sqlLiteral,
  swapStatements,
} from '../../../src/puppet/databases.js';
import {
  archivesToPrune,
  archiveStateCommand,
  outboxCommand,
  parseArchiveState,
  removeFilesCommand,
} from '../../../src/host/archive.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pef-db-'));
  dirs.push(dir);
  return dir;
}
const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8' });
const me = userInfo().username;
const canRunuser = existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser');

/** A bin dir with a pg_dump that writes `content` to its -f file (or fails when content is null). */
function fakeBin(content: string | null): string {
  const bin = tempDir();
  const body =
    content === null
      ? 'echo "pg_dump: error: connection failed" >&2; exit 1'
      : `while [ $# -gt 0 ]; do [ "$1" = -f ] && out=$2; shift; done; printf '%s' '${content}' > "$out"`;
  writeFileSync(join(bin, 'pg_dump'), `#!/bin/sh\n${body}\n`);
  chmodSync(join(bin, 'pg_dump'), 0o755);
  return bin;
}

describe('names', () => {
  it('stamps sort in time order and name the file', () => {
    const a = dumpStamp(new Date('2025-01-02T03:04:05.678Z'));
    expect(a).toBe('20250102T030405678Z');
    expect(dumpStamp(new Date('2025-01-02T03:04:05.679Z')) > a).toBe(true);
    expect(dumpFileName('pe-rbac', a)).toBe('pe-rbac-20250102T030405678Z.dump');
  });
  it('accepts Puppet database names and refuses pef suffixes and odd characters', () => {
    for (const ok of ['puppetdb', 'pe-rbac', 'pe-classifier', 'pe_x1']) expect(DATABASE_NAME.test(ok)).toBe(true);
    for (const bad of ['puppetdb_pef_new', 'puppetdb_pef_old', 'Puppet', 'a b', '../x', 'x;y', ''])
      expect(DATABASE_NAME.test(bad)).toBe(false);
  });
  it('quotes SQL identifiers and literals', () => {
    expect(sqlIdent('pe-rbac')).toBe('"pe-rbac"');
    expect(sqlIdent('a"b')).toBe('"a""b"');
    expect(sqlLiteral("it's")).toBe("'it''s'");
  });
});

(canRunuser ? describe : describe.skip)('dumpCommand (run for real with a stand-in pg_dump)', () => {
  it('writes the dump and a sha256sum-compatible checksum, 0700 dir, no temp files', () => {
    const dir = tempDir();
    const file = dumpFileName('puppetdb', '20250101T000000000Z');
    const run = sh(dumpCommand({ bin: fakeBin('DUMPDATA'), superuser: me }, 'puppetdb', dir, file));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const d = join(dir, 'puppetdb');
    expect(readFileSync(join(d, file), 'utf8')).toBe('DUMPDATA');
    expect(readdirSync(d).sort()).toEqual([file, `${file}.sha256`]);
    expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(execFileSync('sha256sum', ['-c', `${file}.sha256`], { cwd: d, encoding: 'utf8' })).toContain(': OK');
    const sum = execFileSync('sha256sum', [join(d, file)], { encoding: 'utf8' }).split(' ')[0];
    expect(run.stdout).toContain(`sha256=${sum}`);
    expect(run.stdout).toContain('size=8');
  });
  it('leaves nothing behind when pg_dump fails', () => {
    const dir = tempDir();
    const run = sh(dumpCommand({ bin: fakeBin(null), superuser: me }, 'puppetdb', dir, 'puppetdb-x.dump'));
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('connection failed');
    expect(readdirSync(join(dir, 'puppetdb'))).toEqual([]);
  });
});

describe('dump retention, outbox, latestDumpCommand (src/host/archive.ts, run for real)', () => {
  function dumps(names: string[], withSum: string[] = names): string {
    const dir = tempDir();
    mkdirSync(join(dir, 'puppetdb'));
    for (const n of names) writeFileSync(join(dir, 'puppetdb', n), `data ${n}`);
    for (const n of withSum) writeFileSync(join(dir, 'puppetdb', `${n}.sha256`), `${'a'.repeat(64)}  ${n}\n`);
    return dir;
  }
  const names = [
    'puppetdb-20250101T000000000Z.dump',
    'puppetdb-20250102T000000000Z.dump',
    'puppetdb-20250103T000000000Z.dump',
    'puppetdb-20250104T000000000Z.dump',
  ];

  it('keeps the newest N dumps with their checksums', () => {
    const dir = dumps(names);
    const listed = () => parseArchiveState(sh(archiveStateCommand(join(dir, 'puppetdb'))).stdout).names;
    const prune = archivesToPrune(listed(), isDumpOf('puppetdb'), 2);
    expect(prune).toEqual([names[0], `${names[0]}.sha256`, names[1], `${names[1]}.sha256`]);
    expect(sh(removeFilesCommand(join(dir, 'puppetdb'), prune)).status).toBe(0);
    expect(listed().sort()).toEqual([names[2], `${names[2]}.sha256`, names[3], `${names[3]}.sha256`]);
    expect(archivesToPrune(listed(), isDumpOf('puppetdb'), 2)).toEqual([]);
    expect(archivesToPrune(listed(), isDumpOf('puppetdb-x'), 1)).toEqual([]);
    expect(isDumpOf('puppetdb')('puppetdb-20250101T000000000Z.dump.sha256')).toBe(false);
  });

  it('the outbox holds only the newest dump of each database, as hard links', () => {
    const dir = dumps(names);
    const box = join(dir, '.outbox', 'puppetdb');
    expect(sh(outboxCommand(join(dir, 'puppetdb'), names[2] ?? '', box)).status).toBe(0);
    expect(sh(outboxCommand(join(dir, 'puppetdb'), names[3] ?? '', box)).status).toBe(0);
    expect(readdirSync(box).sort()).toEqual([names[3], `${names[3]}.sha256`]);
    expect(statSync(join(box, names[3] ?? '')).ino).toBe(statSync(join(dir, 'puppetdb', names[3] ?? '')).ino);
  });

  it('picks the newest dump that has a checksum', () => {
    const dir = dumps(names, names.slice(0, 3));
    const found = parseLatestDump(sh(latestDumpCommand(dir, 'puppetdb')).stdout);
    expect(found).toEqual({ file: names[2], expected: 'a'.repeat(64), size: `data ${names[2]}`.length });
    expect(parseLatestDump(sh(latestDumpCommand(dir, 'other')).stdout)).toBeNull();
    expect(parseLatestDump(sh(latestDumpCommand(dumps(names, []), 'puppetdb')).stdout)).toBeNull();
  });

  it('gives the dump it is named, only when that one is complete', () => {
    const dir = dumps(names, names.slice(0, 3));
    expect(parseLatestDump(sh(latestDumpCommand(dir, 'puppetdb', names[0])).stdout)?.file).toBe(names[0]);
    expect(parseLatestDump(sh(latestDumpCommand(dir, 'puppetdb', names[3])).stdout)).toBeNull();
    expect(
      parseLatestDump(sh(latestDumpCommand(dir, 'puppetdb', 'puppetdb-20990101T000000000Z.dump')).stdout),
    ).toBeNull();
  });
});

describe('copyForRestoreCommand (run for real)', () => {
  const hello = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';
  it('copies privately and prints the sha256 of what it wrote', () => {
    const src = join(tempDir(), 'x.dump');
    writeFileSync(src, 'hello');
    writeFileSync(`${src}.sha256`, `${hello.toUpperCase()}  x.dump\n`);
    const work = join(tempDir(), 'work');
    const run = sh(copyForRestoreCommand({ bin: '/nonexistent', superuser: me }, src, work, 'puppetdb.dump'));
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(hello);
    expect(readFileSync(join(work, 'puppetdb.dump'), 'utf8')).toBe('hello');
    expect(statSync(join(work, 'puppetdb.dump')).mode & 0o777).toBe(0o600);
    expect(statSync(work).mode & 0o777).toBe(0o700);
  });

  it('fails, printing nothing on stdout, when what it wrote does not match the .sha256', () => {
    const src = join(tempDir(), 'x.dump');
    writeFileSync(src, 'hello, changed');
    writeFileSync(`${src}.sha256`, `${hello}  x.dump\n`);
    const run = sh(copyForRestoreCommand({ bin: '/nonexistent', superuser: me }, src, join(tempDir(), 'w'), 'p.dump'));
    expect(run.status).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`but its .sha256 says ${hello}`);
  });
});

describe('SQL builders', () => {
  const pg = { bin: '/usr/lib/postgresql/15/bin', superuser: 'postgres' };
  it('psql runs as the superuser, stops on the first error, one transaction when asked', () => {
    expect(psqlCommand(pg, ['SELECT 1', 'SELECT 2'], { single: true })).toBe(
      "cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -1 -c 'SELECT 1' -c 'SELECT 2'",
    );
  });
  it('swaps in one transaction, renaming the current database only when it exists', () => {
    const sql = swapStatements([
      { database: 'puppetdb', exists: true, marker: 'm1' },
      { database: 'pe-rbac', exists: false, marker: "it's" },
    ]);
    expect(sql[0]).toContain("datname IN ('puppetdb', 'puppetdb_pef_new', 'pe-rbac', 'pe-rbac_pef_new')");
    expect(sql.slice(1)).toEqual([
      'ALTER DATABASE "puppetdb" RENAME TO "puppetdb_pef_old"',
      'ALTER DATABASE "puppetdb_pef_new" RENAME TO "puppetdb"',
      `COMMENT ON DATABASE "puppetdb" IS 'm1'`,
      'ALTER DATABASE "pe-rbac_pef_new" RENAME TO "pe-rbac"',
      `COMMENT ON DATABASE "pe-rbac" IS 'it''s'`,
    ]);
    expect(dropDatabaseStatements('puppetdb_pef_new')[1]).toBe('DROP DATABASE IF EXISTS "puppetdb_pef_new"');
    expect(databaseStateSql(['a', 'b'])).toContain("WHERE datname IN ('a', 'b')");
  });
});

describe('parsers', () => {
  const schema = [
    'CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;',
    'ALTER TABLE public.certnames OWNER TO puppetdb;',
    'ALTER TABLE public.catalogs OWNER TO puppetdb;',
    'ALTER SEQUENCE public.x OWNER TO "pe-rbac";',
    'ALTER SCHEMA public OWNER TO pg_database_owner;',
    'REVOKE USAGE ON SCHEMA public FROM PUBLIC;',
    'GRANT CREATE ON SCHEMA public TO puppetdb;',
    'GRANT SELECT ON TABLE public.certnames TO puppetdb_read;',
    'GRANT ALL ON TABLE public.y TO "odd ""name""" WITH GRANT OPTION;',
    'REVOKE ALL ON TABLE public.y FROM someone;',
    "COMMENT ON TABLE public.z IS 'OWNER TO nobody;';",
  ].join('\n');
  it('finds every role a dump needs, not PUBLIC or built-in roles', () => {
    expect(parseDumpRoles(schema)).toEqual(['odd "name"', 'pe-rbac', 'puppetdb', 'puppetdb_read', 'someone'].sort());
  });
  it("finds the dump's main owner", () => {
    expect(mainOwner(schema)).toBe('puppetdb');
    expect(mainOwner('')).toBeNull();
  });
  it('reads database rows and restore markers', () => {
    const sha = 'b'.repeat(64);
    const rows = parseDatabaseRows(
      `puppetdb|puppetdb|${restoreMarker(sha, 'puppetdb-1.dump')}\npuppetdb_pef_old|puppetdb|\n`,
    );
    expect(rows.get('puppetdb')).toEqual({
      name: 'puppetdb',
      owner: 'puppetdb',
      comment: `pef-restore sha256=${sha} file=puppetdb-1.dump`,
    });
    expect(parseRestoreMarker(rows.get('puppetdb')?.comment ?? '')).toBe(sha);
    expect(parseRestoreMarker(rows.get('puppetdb_pef_old')?.comment ?? '')).toBeNull();
    expect(parseRestoreMarker('something else')).toBeNull();
  });
});
