/**
 * dump_db against a model of a primary, answering the commands the exported builders spell:
 * one checksummed archive per database (src/host/archive.ts), retention by the archive
 * lifecycle's own rule, the outbox, and a failed pg_dump reported with nothing kept.
 */
import { describe, expect, it } from '@jest/globals';
import { archiveStateCommand, outboxCommand, removeFilesCommand } from '../../../src/host/archive.js';
import { DISCOVER_SCRIPT, followUpScript, parseDiscovery } from '../../../src/host/discover.js';
import { DATABASE_DEFAULTS, dumpCommand } from '../../../src/puppet/databases.js';
import { runTask } from '../../../src/task/run-task.js';
import { dumpDb } from '../../../tasks/dump-db.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

const HOST = 'primary.lab';
const PG = { bin: '/usr/lib/postgresql/15/bin', superuser: 'postgres' };
const DIR = DATABASE_DEFAULTS.dumpDir;
const DISCOVERY = [
  'service_manager=lab',
  'flavor=oss',
  'service.postgresql=1,1',
  `postgres.bin=${PG.bin}`,
  'postgres.superuser=postgres',
  'postgres.databases=postgres,puppetdb',
].join('\n');
const OLD = ['20250101T000000000Z', '20250102T000000000Z', '20250103T000000000Z'].map((s) => `puppetdb-${s}.dump`);

function primary(options: { dumpFails?: boolean } = {}) {
  const files = new Set(OLD.flatMap((f) => [f, `${f}.sha256`]));
  const followUp = followUpScript(parseDiscovery(DISCOVERY));
  let written = '';
  return {
    files,
    get written() {
      return written;
    },
    handler: (_t: string, command: string) => {
      if (command === DISCOVER_SCRIPT) return { stdout: DISCOVERY };
      if (command === followUp) return { stdout: 'has_ca=false\n' };
      const file = /-f "\$tmp"/.test(command)
        ? /\.(puppetdb-\d{8}T\d{9}Z\.dump)\.partial/.exec(command)?.[1]
        : undefined;
      if (file !== undefined && command === dumpCommand(PG, 'puppetdb', DIR, file)) {
        if (options.dumpFails) return { exitCode: 1, stderr: 'pg_dump: error: connection failed' };
        written = file;
        files.add(file).add(`${file}.sha256`);
        return { stdout: `size=8\nsha256=${'b'.repeat(64)}\n` };
      }
      if (command === archiveStateCommand(`${DIR}/puppetdb`))
        return { stdout: `${[...files].join('\n')}\npef-latest->\n` };
      if (command.startsWith(removeFilesCommand(`${DIR}/puppetdb`, []).trimEnd())) {
        const names = command.slice(removeFilesCommand(`${DIR}/puppetdb`, []).length).split(' ');
        for (const n of names) files.delete(n);
        return {};
      }
      if (written && command === outboxCommand(`${DIR}/puppetdb`, written, `${DIR}/.outbox/puppetdb`)) return {};
      return { exitCode: 127, stderr: `fake primary: unexpected command ${command.slice(0, 100)}` };
    },
  };
}

describe('dump_db (model of a primary)', () => {
  it('writes a checksummed dump, keeps `retention` of them, and puts the newest in the outbox', async () => {
    const p = primary();
    const fake = fakeRuntime([fakeTarget(HOST)], p.handler);
    const set = await runTask(fake.runtime, dumpDb, [fakeTarget(HOST)], { retention: 2 });
    const result = set.results[0]!;
    expect(result.error).toBeUndefined();
    expect(result.value).toMatchObject({
      dumps: [{ database: 'puppetdb', file: `${DIR}/puppetdb/${p.written}`, size: 8, pruned: [OLD[0], OLD[1]] }],
    });
    expect([...p.files].sort()).toEqual([OLD[2], `${OLD[2]}.sha256`, p.written, `${p.written}.sha256`].sort());
    expect(fake.sent.map((s) => s.command)).toContain(
      outboxCommand(`${DIR}/puppetdb`, p.written, `${DIR}/.outbox/puppetdb`),
    );
  });

  it('a failed pg_dump fails the task, keeps no partial file and prunes nothing', async () => {
    const p = primary({ dumpFails: true });
    const fake = fakeRuntime([fakeTarget(HOST)], p.handler);
    const result = (await runTask(fake.runtime, dumpDb, [fakeTarget(HOST)], { retention: 1 })).results[0]!;
    expect(result.error?.msg).toMatch(
      /pg_dump of puppetdb on primary\.lab failed: .*connection failed.*No partial file was kept/s,
    );
    expect(p.files.size).toBe(OLD.length * 2);
  });
});
