/**
 * dump_db against the lab's primary (oss: PostgreSQL 15 + PuppetDB): a checksummed pg_dump while
 * PuppetDB keeps running, retention, noop, refusal of an unknown database, and shipping the newest
 * dump to the replica through the transfer channel.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { DATABASE_DEFAULTS, SHIPPED_DUMP_DIR } from '../../../src/puppet/databases.js';
import { dumpDb } from '../../../tasks/dump-db.js';
import { setupTransfer } from '../../../tasks/setup-transfer.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

const PRIMARY = 'primary.lab';
const REPLICA = 'replica.lab';
const exec = (host: string, script: string) => labExec(host, ['sh', '-c', script], { dir: TEST_LAB_DIR });
const lines = async (host: string, script: string) => (await exec(host, script)).stdout.split('\n').filter(Boolean);

let runner: TaskRunner;

beforeAll(async () => {
  const info = await ensureLab();
  runner = await taskRunner(info.inventory);
  const transfer = await runner.task(setupTransfer, PRIMARY, { receiver: REPLICA });
  expect(transfer.find(PRIMARY)?.error).toBeUndefined();
}, 600_000);

afterAll(async () => {
  await runner?.close();
});

describe('dump_db', () => {
  const dir = `${DATABASE_DEFAULTS.dumpDir}/puppetdb`;

  it('noop lists the commands and writes nothing', async () => {
    const before = await lines(PRIMARY, `ls -1 ${dir} 2>/dev/null`);
    const result = (await runner.task(dumpDb, PRIMARY, { receiver: REPLICA }, { noop: true })).find(PRIMARY);
    expect(result?.error).toBeUndefined();
    const wouldRun = result?.noop?.wouldRun ?? [];
    expect(
      wouldRun.some((c) => c.includes('runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_dump -Fc -d puppetdb')),
    ).toBe(true);
    expect(wouldRun.some((c) => c.startsWith('rsync ') && c.includes(`${DATABASE_DEFAULTS.dumpDir}/.outbox/`))).toBe(
      true,
    );
    expect(await lines(PRIMARY, `ls -1 ${dir} 2>/dev/null`)).toEqual(before);
  }, 120_000);

  it('writes a checksummed dump while PuppetDB keeps running, and ships the newest to the replica', async () => {
    const result = (await runner.task(dumpDb, PRIMARY, { receiver: REPLICA })).find(PRIMARY);
    expect(result?.error).toBeUndefined();
    expect(result?.changed).toBe(true);
    const value = result?.value as {
      dumps: { database: string; file: string; size: number; sha256: string; duration_ms: number }[];
      shipped: { receiver: string; dir: string };
    };
    const dump = value.dumps[0];
    expect(dump?.database).toBe('puppetdb');
    expect(dump?.file).toMatch(new RegExp(`^${dir}/puppetdb-\\d{8}T\\d{9}Z\\.dump$`));
    expect(dump?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(dump?.size).toBeGreaterThan(1000);
    const name = dump?.file.split('/').pop() ?? '';

    // On the primary: the pair checks out with sha256sum, the dir is private to postgres, a real custom-format dump.
    expect((await exec(PRIMARY, `cd ${dir} && sha256sum -c ${name}.sha256`)).stdout).toContain(`${name}: OK`);
    expect((await exec(PRIMARY, `stat -c '%U %a' ${dir}`)).stdout.trim()).toBe('postgres 700');
    expect(
      (
        await exec(
          PRIMARY,
          `/usr/lib/postgresql/15/bin/pg_restore -l ${dir}/${name} | grep -c 'TABLE DATA public certnames'`,
        )
      ).stdout.trim(),
    ).toBe('1');
    expect((await exec(PRIMARY, 'pef-lab-service status puppetdb')).exitCode).toBe(0);

    // On the replica: exactly the newest dump and its checksum, intact.
    expect(value.shipped).toEqual({ receiver: REPLICA, dir: SHIPPED_DUMP_DIR });
    expect(await lines(REPLICA, `ls -1 ${SHIPPED_DUMP_DIR}/puppetdb`)).toEqual([name, `${name}.sha256`]);
    expect((await exec(REPLICA, `cd ${SHIPPED_DUMP_DIR}/puppetdb && sha256sum -c ${name}.sha256`)).stdout).toContain(
      `${name}: OK`,
    );
  }, 180_000);

  it('keeps only the last N dumps', async () => {
    for (let i = 0; i < 3; i++) {
      const result = (await runner.task(dumpDb, PRIMARY, { retention: 2 })).find(PRIMARY);
      expect(result?.error).toBeUndefined();
    }
    const files = await lines(PRIMARY, `ls -1 ${dir}`);
    expect(files.filter((f) => f.endsWith('.dump'))).toHaveLength(2);
    expect(files.filter((f) => f.endsWith('.dump.sha256'))).toHaveLength(2);
    expect(files.filter((f) => f.includes('partial'))).toEqual([]);
    const newest =
      files
        .filter((f) => f.endsWith('.dump'))
        .sort()
        .pop() ?? '';
    expect(await lines(PRIMARY, `ls -1 ${DATABASE_DEFAULTS.dumpDir}/.outbox/puppetdb`)).toEqual([
      newest,
      `${newest}.sha256`,
    ]);
  }, 180_000);

  it('refuses an unknown database and dumps nothing', async () => {
    const before = await lines(PRIMARY, `ls -1 ${dir}`);
    const result = (await runner.task(dumpDb, PRIMARY, { databases: ['nosuchdb'] })).find(PRIMARY);
    expect(result?.error?.kind).toBe('pef/task-failed');
    expect(result?.error?.msg).toContain('has no database nosuchdb');
    expect(result?.error?.msg).toContain('Nothing was dumped');
    expect(await lines(PRIMARY, `ls -1 ${dir}`)).toEqual(before);
    expect(
      (await exec(PRIMARY, `test -e ${DATABASE_DEFAULTS.dumpDir}/nosuchdb && echo yes || echo no`)).stdout.trim(),
    ).toBe('no');
  }, 120_000);
});
