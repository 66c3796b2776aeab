/**
 * dump_db: a point-in-time copy of Puppet's databases on the primary, with a checksum, and
 * optionally shipped to the replica for restore_db. pg_dump runs against the live database (an
 * MVCC snapshot), so no service stops.
 *
 * Each dump is `<dump_dir>/<db>/<db>-<stamp>.dump` (custom format) plus `<file>.sha256`, written
 * under temp names and renamed when complete; the newest `retention` dumps are kept. With
 * `receiver`, the newest dump of each database goes through the transfer channel
 * (setup_transfer) into the receiver's `incoming/dumps/<db>/`, where restore_db looks by default.
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import {
  archivesToPrune,
  archiveStateCommand,
  outboxCommand,
  parseArchiveState,
  removeFilesCommand,
} from '../src/host/archive.js';
import { discoverHost } from '../src/host/discover.js';
import {
  DATABASE_COPY_TIMEOUT_MS,
  DATABASE_DEFAULTS,
  DATABASE_NAME,
  DATABASE_SERVICE,
  DEFAULT_DATABASES,
  dumpCommand,
  dumpFileName,
  dumpStamp,
  isDumpOf,
  SHIPPED_DUMP_DIR,
} from '../src/puppet/databases.js';
import { assertReplicationAllowed } from '../src/puppet/mode.js';
import {
  hasTransferKey,
  rsyncToReceiver,
  transferParams,
  transferPaths,
  transferSettings,
} from '../src/puppet/transfer.js';
import { defineTask } from '../src/task/task.js';
import { parseKeyValues } from '../src/util/key-value.js';

/** Dumps the databases; see the file comment. */
export const dumpDb = defineTask({
  name: 'dump_db',
  description:
    "pg_dump Puppet's databases on the primary with a checksum, keep the last N, optionally ship them to the replica",
  details: `Run on the primary. Databases default to puppetdb (oss) or pe-rbac (PE); PE may add
pe-classifier, pe-orchestrator, pe-activity. pg_dump -Fc runs as the PostgreSQL superuser found by
discovery; no service is stopped. Every run writes a new dump (changed: true): a dump is a copy of
a moment. With receiver=<replica>, the newest dump of each database is shipped through the transfer
channel (run setup_transfer first) to <receiver>:${SHIPPED_DUMP_DIR}/<db>/ (with the default transfer user).`,
  params: z.object({
    databases: z
      .array(z.string().regex(DATABASE_NAME))
      .min(1)
      .optional()
      .describe('databases to dump (default: ["puppetdb"] on oss, ["pe-rbac"] on PE)'),
    dump_dir: z
      .string()
      .regex(/^\/\S+$/)
      .default(DATABASE_DEFAULTS.dumpDir)
      .describe('directory for the dumps; each database gets <dump_dir>/<db>/ (0700, the superuser)'),
    retention: z
      .number()
      .int()
      .min(1)
      .default(DATABASE_DEFAULTS.retention)
      .describe('how many dumps to keep per database'),
    ...transferParams,
    receiver: transferParams.receiver
      .optional()
      .describe('inventory name of the replica to ship the newest dumps to (optional; needs setup_transfer)'),
  }),
  supportsNoop: true,
  // Long on purpose: it reads as the runbook it replaces, each step in order with its refusal
  // beside it; the step helpers live in src/.
  async run(ctx) {
    if (ctx.params.receiver !== undefined) {
      // Shipping is replication: refuse before dumping if either end forbids it.
      await assertReplicationAllowed(ctx, 'send', 'dump_db');
      await assertReplicationAllowed(await ctx.peer(ctx.params.receiver), 'receive', 'dump_db');
    }
    const facts = await discoverHost((c) => ctx.read(c));
    const host = ctx.target.name;
    const databases: readonly string[] = ctx.params.databases ?? DEFAULT_DATABASES[facts.flavor];
    const bin = facts.postgres.bin;
    if (!bin)
      throw new PefError(
        'pef/task-failed',
        `No PostgreSQL tools found on ${host} (no pg_dump under /usr/lib/postgresql/*/bin or /opt/puppetlabs/server/bin). Run dump_db on the primary, where the databases are. Nothing was dumped.`,
        {},
      );
    if (facts.postgres.databases === null) {
      throw new PefError(
        'pef/task-failed',
        `PostgreSQL does not answer on ${host} (as ${facts.postgres.superuser}): start it (pef task run service -t ${host} action=start 'services=["${DATABASE_SERVICE[facts.flavor]}"]') and run dump_db again. Nothing was dumped.`,
        { superuser: facts.postgres.superuser },
      );
    }
    const missing = databases.filter((d) => !facts.postgres.databases?.includes(d));
    if (missing.length > 0) {
      throw new PefError(
        'pef/task-failed',
        `${host} has no database ${missing.join(', ')} (it has: ${facts.postgres.databases.join(', ')}); fix the databases parameter. Nothing was dumped.`,
        { missing },
      );
    }

    const pg = { bin, superuser: facts.postgres.superuser };
    const dir = ctx.params.dump_dir.replace(/\/+$/, '');
    const stamp = dumpStamp(new Date());
    const dumps: Record<string, unknown>[] = [];
    for (const database of databases) {
      const file = dumpFileName(database, stamp);
      const started = performance.now();
      let out;
      try {
        out = await ctx.change(dumpCommand(pg, database, dir, file), { timeoutMs: DATABASE_COPY_TIMEOUT_MS });
      } catch (error) {
        throw new PefError(
          'pef/task-failed',
          `pg_dump of ${database} on ${host} failed: ${(error as Error).message}. No partial file was kept${dumps.length ? `; ${dumps.map((d) => String(d['database'])).join(', ')} were dumped before` : ''}. Services were not touched.`,
          { database, done: dumps },
        );
      }
      const durationMs = Math.round(performance.now() - started);
      const kv = parseKeyValues(out?.stdout ?? '');
      // In noop the new dump is not there yet; it counts as if it were, as it would.
      const listed = parseArchiveState((await ctx.read(archiveStateCommand(`${dir}/${database}`))).stdout).names;
      const names = ctx.noop ? [...listed, file, `${file}.sha256`] : listed;
      const prune = archivesToPrune(names, isDumpOf(database), ctx.params.retention);
      if (prune.length > 0) await ctx.change(removeFilesCommand(`${dir}/${database}`, prune));
      const pruned = prune.filter((f) => !f.endsWith('.sha256'));
      await ctx.change(outboxCommand(`${dir}/${database}`, file, `${dir}/${DATABASE_DEFAULTS.outbox}/${database}`));
      ctx.log(`${database}: ${file}${kv.has('size') ? ` (${kv.get('size')} bytes)` : ''}`);
      dumps.push({
        database,
        file: `${dir}/${database}/${file}`,
        ...(ctx.noop ? {} : { size: Number(kv.get('size')), sha256: kv.get('sha256') ?? '', duration_ms: durationMs }),
        pruned,
      });
    }

    let shipped: Record<string, unknown> | undefined;
    if (ctx.params.receiver !== undefined) {
      const receiver = await ctx.peer(ctx.params.receiver);
      const settings = await transferSettings(ctx.params, receiver);
      const paths = transferPaths(settings);
      if (!(await hasTransferKey(ctx, settings))) {
        throw new PefError(
          'pef/task-failed',
          `The dumps were written on ${host} but not shipped: there is no transfer key (${paths.key}). Run setup_transfer -t ${host} receiver=${receiver.target.name}, then dump_db again.`,
          { dumps },
        );
      }
      try {
        await ctx.change(rsyncToReceiver(settings, `${dir}/${DATABASE_DEFAULTS.outbox}`, DATABASE_DEFAULTS.shipName));
      } catch (error) {
        throw new PefError(
          'pef/task-failed',
          `The dumps were written on ${host} but shipping them to ${receiver.target.name} failed: ${(error as Error).message}. The receiver keeps whatever complete dumps it had; run dump_db again once the channel works (setup_transfer checks it).`,
          { dumps },
        );
      }
      shipped = { receiver: receiver.target.name, dir: `${paths.incoming}/${DATABASE_DEFAULTS.shipName}` };
    }
    return { changed: true, value: { flavor: facts.flavor, dump_dir: dir, dumps, ...(shipped ? { shipped } : {}) } };
  },
});
