/**
 * restore_db on the lab's replica (oss), from a dump_db of the primary's PuppetDB shipped over the
 * transfer channel: noop, the restore itself (row counts and schema version equal the primary's),
 * the second run, and the failures: a corrupted dump refused before any service stops, a dump that
 * fails half-way through pg_restore (previous database kept, stopped services running again),
 * and a held lock. The replica's agent daemon stands in for a consumer service that must be
 * stopped and started again (its PuppetDB is not configured in the lab).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { labExec } from '../../../src/lab/lab-exec.js';
import { DATABASE_DEFAULTS, SHIPPED_DUMP_DIR } from '../../../src/puppet/databases.js';
import { lockAcquireCommand, lockReleaseCommand } from '../../../src/host/lock.js';
import { dumpDb } from '../../../tasks/dump-db.js';
import { restoreDb } from '../../../tasks/restore-db.js';
import { setupTransfer } from '../../../tasks/setup-transfer.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

const PRIMARY = 'primary.lab';
const REPLICA = 'replica.lab';
const BAD = '/var/tmp/pef-e2e-restore-db';
const exec = (host: string, script: string) => labExec(host, ['sh', '-c', script], { dir: TEST_LAB_DIR });
const psql = async (host: string, db: string, sql: string) =>
  (await exec(host, `cd / && runuser -u postgres -- psql -XAt -d ${db} -c "${sql}"`)).stdout.trim();
const running = async (host: string, service: string) =>
  (await exec(host, `pef-lab-service status ${service}`)).exitCode === 0;
/** What must survive a restore: row counts and the schema version. */
const snapshot = (host: string) =>
  psql(
    host,
    'puppetdb',
    "select (select count(*) from certnames) || ',' || (select count(*) from catalogs) || ',' || (select count(*) from factsets) || ',' || (select max(version) from schema_migrations)",
  );
const databases = async () =>
  (
    await psql(
      REPLICA,
      'postgres',
      "select string_agg(datname, ',' order by datname) from pg_database where datname like 'puppetdb%'",
    )
  )
    .split(',')
    .filter(Boolean);
const marker = () =>
  psql(REPLICA, 'postgres', "select shobj_description(oid, 'pg_database') from pg_database where datname = 'puppetdb'");
const countIn = (text: string, needle: string) => text.split(needle).length - 1;

let runner: TaskRunner;
let inventory = '';
let sha = '';
let dumpFile = '';
const before = { pg: false, db: false, role: false, puppet: false };

beforeAll(async () => {
  const info = await ensureLab();
  inventory = info.inventory;
  runner = await taskRunner(info.inventory);
  before.pg = await running(REPLICA, 'postgresql');
  before.puppet = await running(REPLICA, 'puppet');
  if (before.pg) {
    before.db = (await databases()).includes('puppetdb');
    before.role = (await psql(REPLICA, 'postgres', "select count(*) from pg_roles where rolname = 'puppetdb'")) === '1';
  }
  // PuppetDB holds data once an agent has run; a fresh lab's has none.
  if ((await snapshot(PRIMARY)).startsWith('0,')) {
    const run = await exec('agent1.lab', 'puppet agent -t >/dev/null 2>&1; echo $?');
    expect(['0', '2']).toContain(run.stdout.trim());
  }
  expect((await runner.task(setupTransfer, PRIMARY, { receiver: REPLICA })).ok).toBe(true);
  const dump = (await runner.task(dumpDb, PRIMARY, { receiver: REPLICA })).find(PRIMARY);
  expect(dump?.error).toBeUndefined();
  const first = (dump?.value as { dumps: { sha256: string; file: string }[] }).dumps[0];
  sha = first?.sha256 ?? '';
  dumpFile = first?.file.split('/').pop() ?? '';
}, 600_000);

afterAll(async () => {
  await runner?.close();
  // Leave the replica as this suite found it.
  await exec(REPLICA, `rm -rf ${BAD}`);
  if (!before.puppet) await exec(REPLICA, 'pef-lab-service stop puppet');
  if (await running(REPLICA, 'postgresql')) {
    if (!before.db) await psql(REPLICA, 'postgres', 'drop database if exists puppetdb');
    if (!before.role) await psql(REPLICA, 'postgres', 'drop role if exists puppetdb');
    if (!before.pg) await exec(REPLICA, 'pef-lab-service stop postgresql');
  }
}, 120_000);

describe('restore_db', () => {
  it('noop checks the dump, lists every command and changes nothing', async () => {
    const result = (await runner.task(restoreDb, REPLICA, { force: true }, { noop: true })).find(REPLICA);
    expect(result?.error).toBeUndefined();
    const wouldRun = result?.noop?.wouldRun ?? [];
    const all = wouldRun.join('\n');
    expect(all).toContain(`flock -n -E 75`);
    expect(all).toContain(
      `dd if=${SHIPPED_DUMP_DIR}/puppetdb/${dumpFile} iflag=nofollow status=none | runuser -u postgres -- tee ${DATABASE_DEFAULTS.workDir}/puppetdb.dump | sha256sum`,
    );
    expect(all).toContain(
      'pg_restore --exit-on-error --no-password -j 2 -d puppetdb_pef_new /var/lib/pef/restore/puppetdb.dump',
    );
    expect(all).toContain('ALTER DATABASE "puppetdb_pef_new" RENAME TO "puppetdb"');
    if (!before.pg) expect(wouldRun).toContain('pef-lab-service start postgresql');
    expect(await running(REPLICA, 'postgresql')).toBe(before.pg);
    expect(
      (
        await exec(REPLICA, `test -e ${DATABASE_DEFAULTS.workDir}/puppetdb.dump && echo copied || echo none`)
      ).stdout.trim(),
    ).toBe('none');
    expect(
      (await exec(REPLICA, `test ! -e ${DATABASE_DEFAULTS.lock} || flock -n ${DATABASE_DEFAULTS.lock} true`)).exitCode,
    ).toBe(0);
  }, 120_000);

  it('restores into a new database and swaps it in: same rows and schema version as the primary', async () => {
    const result = (await runner.task(restoreDb, REPLICA, { force: true })).find(REPLICA);
    expect(result?.error).toBeUndefined();
    expect(result?.changed).toBe(true);
    const value = result?.value as {
      databases: { database: string; sha256: string; restored: boolean }[];
      started_postgresql: boolean;
      created_roles: string[];
    };
    expect(value.databases).toEqual([expect.objectContaining({ database: 'puppetdb', sha256: sha, restored: true })]);
    expect(value.started_postgresql).toBe(!before.pg);
    if (!before.role) expect(value.created_roles).toEqual(['puppetdb']);

    expect(await running(REPLICA, 'postgresql')).toBe(true);
    const primary = await snapshot(PRIMARY);
    expect(primary).toMatch(/^[1-9]\d*,[1-9]\d*,[1-9]\d*,\d+$/);
    expect(await snapshot(REPLICA)).toBe(primary);
    expect(await psql(REPLICA, 'puppetdb', "select string_agg(extname, ',' order by extname) from pg_extension")).toBe(
      await psql(PRIMARY, 'puppetdb', "select string_agg(extname, ',' order by extname) from pg_extension"),
    );
    expect(
      await psql(REPLICA, 'postgres', "select pg_get_userbyid(datdba) from pg_database where datname = 'puppetdb'"),
    ).toBe('puppetdb');
    expect(await psql(REPLICA, 'postgres', "select rolcanlogin from pg_roles where rolname = 'puppetdb'")).toMatch(
      /^[tf]$/,
    );
    expect(await databases()).toEqual(['puppetdb']);
    expect(await marker()).toBe(`pef-restore sha256=${sha} file=${dumpFile}`);
    expect((await exec(REPLICA, `ls -A ${DATABASE_DEFAULTS.workDir}`)).stdout.trim()).toBe('');
  }, 180_000);

  it('a second run changes nothing; force restores the same dump again with the same outcome', async () => {
    const again = (await runner.task(restoreDb, REPLICA, {})).find(REPLICA);
    expect(again?.error).toBeUndefined();
    expect(again?.changed).toBe(false);
    const forced = (await runner.task(restoreDb, REPLICA, { force: true, keep_previous: true })).find(REPLICA);
    expect(forced?.error).toBeUndefined();
    expect(forced?.changed).toBe(true);
    expect((forced?.value as { previous_kept: string[] }).previous_kept).toEqual(['puppetdb_pef_old']);
    expect(await snapshot(REPLICA)).toBe(await snapshot(PRIMARY));
    expect(await databases()).toEqual(['puppetdb', 'puppetdb_pef_old']);
    const third = (await runner.task(restoreDb, REPLICA, { force: true })).find(REPLICA);
    expect(third?.error).toBeUndefined();
    expect(await databases()).toEqual(['puppetdb']);
  }, 240_000);

  describe('with a consumer service running', () => {
    let intact = '';
    beforeAll(async () => {
      expect((await exec(REPLICA, 'pef-lab-service start puppet')).exitCode).toBe(0);
      intact = await snapshot(REPLICA);
    }, 120_000);

    it('refuses a corrupted dump before any service stops', async () => {
      // The real dump with one byte flipped, beside its original checksum.
      await exec(
        REPLICA,
        `rm -rf ${BAD} && mkdir -p ${BAD}/corrupt/puppetdb && cp ${SHIPPED_DUMP_DIR}/puppetdb/${dumpFile}* ${BAD}/corrupt/puppetdb/ && printf '\\377' | dd of=${BAD}/corrupt/puppetdb/${dumpFile} bs=1 seek=2000 conv=notrunc 2>/dev/null`,
      );
      const stopsBefore = countIn(runner.log(), 'pef-lab-service stop');
      const result = (await runner.task(restoreDb, REPLICA, { force: true, dump_dir: `${BAD}/corrupt` })).find(REPLICA);
      expect(result?.error?.kind).toBe('pef/task-failed');
      expect(result?.error?.msg).toContain('Checksum mismatch');
      expect(result?.error?.msg).toContain('nothing was changed and no service was stopped');
      expect(countIn(runner.log(), 'pef-lab-service stop')).toBe(stopsBefore);
      expect(await running(REPLICA, 'puppet')).toBe(true);
      expect(await snapshot(REPLICA)).toBe(intact);
      expect(await marker()).toBe(`pef-restore sha256=${sha} file=${dumpFile}`);
    }, 120_000);

    it('refuses a file that matches its checksum but is no dump, before any service stops', async () => {
      const name = 'puppetdb-29990101T000000000Z.dump';
      await exec(
        REPLICA,
        `mkdir -p ${BAD}/bogus/puppetdb && cd ${BAD}/bogus/puppetdb && echo 'not a dump' > ${name} && sha256sum ${name} > ${name}.sha256`,
      );
      const stopsBefore = countIn(runner.log(), 'pef-lab-service stop');
      const result = (await runner.task(restoreDb, REPLICA, { force: true, dump_dir: `${BAD}/bogus` })).find(REPLICA);
      expect(result?.error?.msg).toContain('matches its checksum but is not a dump pg_restore can read');
      expect(result?.error?.msg).toContain('nothing was changed and no service was stopped');
      expect(countIn(runner.log(), 'pef-lab-service stop')).toBe(stopsBefore);
      expect(await running(REPLICA, 'puppet')).toBe(true);
    }, 120_000);

    it('a dump that fails half-way through pg_restore leaves the previous database and restarts what it stopped', async () => {
      // A real dump that cannot be restored: an index on a function that names a table without
      // its schema, which pg_restore (search_path '') cannot resolve when it builds the index, after the data.
      const name = 'puppetdb-29990101T000000000Z.dump';
      const setup = [
        'CREATE TABLE lookup (k int)',
        'INSERT INTO lookup VALUES (1)',
        'CREATE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN x + (SELECT count(*) FROM lookup); END $$',
        'CREATE TABLE t (x int)',
        'INSERT INTO t VALUES (1), (2)',
        'CREATE INDEX t_f ON t (f(x))',
      ];
      const made = await exec(
        REPLICA,
        [
          'cd /',
          `runuser -u postgres -- psql -XAtq -c 'DROP DATABASE IF EXISTS pef_e2e_broken' -c 'CREATE DATABASE pef_e2e_broken'`,
          `runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d pef_e2e_broken ${setup.map((sql) => `-c '${sql}'`).join(' ')}`,
          `mkdir -p ${BAD}/broken/puppetdb && chown postgres ${BAD}/broken/puppetdb`,
          `runuser -u postgres -- pg_dump -Fc -d pef_e2e_broken -f ${BAD}/broken/puppetdb/${name}`,
          `runuser -u postgres -- psql -XAtq -c 'DROP DATABASE pef_e2e_broken'`,
          `cd ${BAD}/broken/puppetdb && sha256sum ${name} > ${name}.sha256`,
        ].join(' && '),
      );
      expect({ exit: made.exitCode, stderr: made.stderr }).toEqual({ exit: 0, stderr: expect.any(String) });
      const stopsBefore = countIn(runner.log(), 'pef-lab-service stop puppet');
      const result = (await runner.task(restoreDb, REPLICA, { force: true, dump_dir: `${BAD}/broken` })).find(REPLICA);
      expect(result?.error?.kind).toBe('pef/task-failed');
      expect(result?.error?.msg).toContain('failed while restoring puppetdb into puppetdb_pef_new');
      expect(result?.error?.msg).toContain('CREATE INDEX t_f');
      expect(result?.error?.msg).toContain('previous database puppetdb kept');
      expect(result?.error?.msg).toContain('services puppet running again');
      expect(result?.error?.msg).toContain('lock released');
      expect(countIn(runner.log(), 'pef-lab-service stop puppet')).toBe(stopsBefore + 1);
      expect(await running(REPLICA, 'puppet')).toBe(true);
      expect(await running(REPLICA, 'postgresql')).toBe(true);
      expect(await databases()).toEqual(['puppetdb']);
      expect(await snapshot(REPLICA)).toBe(intact);
      expect(await marker()).toBe(`pef-restore sha256=${sha} file=${dumpFile}`);
    }, 180_000);

    it('SIGINT after the services stopped: exit 130, services running, lock released, no holder left, state printed', async () => {
      const bin = fileURLToPath(new URL('../../../bin/pef.js', import.meta.url));
      const child = spawn(
        process.execPath,
        [bin, 'task', 'run', 'restore_db', '-t', REPLICA, '-i', inventory, 'force=true'],
        { env: { ...process.env, NODE_OPTIONS: '', CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      let interrupted = false;
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // The task says so right after the stop: from here on the host is not in its normal state.
        if (!interrupted && stderr.includes(`[${REPLICA}] stopped puppet for the restore`)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(interrupted).toBe(true);
      expect({ code, stderr }).toMatchObject({ code: 130, stderr: expect.stringContaining('SIGINT: cancelling') });
      expect(stdout).toMatch(/restore_db on replica\.lab was interrupted while/);
      expect(stdout).toMatch(/State: .*services puppet running again \(checked\).*lock released \(checked\)/s);
      expect(await running(REPLICA, 'puppet')).toBe(true);
      expect(await running(REPLICA, 'postgresql')).toBe(true);
      expect((await exec(REPLICA, `flock -n ${DATABASE_DEFAULTS.lock} true`)).exitCode).toBe(0);
      expect((await exec(REPLICA, `cat ${DATABASE_DEFAULTS.lock}`)).stdout).toBe('');
      expect(
        (await exec(REPLICA, `ps -eo args | grep -c '^sleep ${DATABASE_DEFAULTS.lockSeconds}$'`)).stdout.trim(),
      ).toBe('0');
      expect((await exec(REPLICA, `ls ${DATABASE_DEFAULTS.workDir}`)).stdout.trim()).toBe('');
      expect(await databases()).toEqual(['puppetdb']);
      expect(await snapshot(REPLICA)).toBe(intact);
    }, 240_000);

    it('refuses to run while another restore holds the lock, and changes nothing', async () => {
      const held = await exec(REPLICA, lockAcquireCommand(DATABASE_DEFAULTS.lock, 300, 'e2e-holder'));
      const pid = /locked=(\d+)/.exec(held.stdout)?.[1];
      expect(pid).toBeDefined();
      try {
        const result = (await runner.task(restoreDb, REPLICA, { force: true })).find(REPLICA);
        expect(result?.error?.msg).toContain(`Another restore is running on ${REPLICA} (pid ${pid ?? ''}`);
        expect(result?.error?.msg).toContain('Nothing was changed');
        expect(await running(REPLICA, 'puppet')).toBe(true);
        expect(await marker()).toBe(`pef-restore sha256=${sha} file=${dumpFile}`);
      } finally {
        await exec(REPLICA, lockReleaseCommand(DATABASE_DEFAULTS.lock, 'e2e-holder'));
      }
    }, 120_000);
  });
});
