/**
 * dump_nc: the primary's node classification, rewritten for the replica, as a checksummed
 * archive on the primary, optionally shipped to the replica for restore_nc (PE only).
 *
 * `GET /classifier-api/v1/groups` runs on the primary with curl and the primary's own
 * certificate (the key never leaves the host); the reply is checked to be an array of node
 * groups, and every whole occurrence of the primary's certname in rules, class parameters,
 * variables and config data becomes the replica's (`replaceHostname`). The archive is written
 * only when it differs from the newest one (compared group by group), so an unchanged
 * classification gives `changed: false`. With `receiver`, the newest archive goes through the
 * transfer channel (setup_transfer) into the receiver's `incoming/nc_dumps/`, the way dump_db
 * ships its dumps. The run is three phases sharing one `DumpNcRun`: write if changed, prune, ship.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import { sha256Command } from '../src/host/files.js';
import { dumpStamp } from '../src/puppet/databases.js';
import { assertReplicationAllowed } from '../src/puppet/mode.js';
import {
  archiveStateCommand,
  archivesToPrune,
  archiveWriteCommand,
  completeArchives,
  linkLatestCommand,
  outboxCommand,
  parseArchiveState,
  parseChecksumFile,
  removeFilesCommand,
} from '../src/host/archive.js';
import { classifierBase, clientTlsPaths, readClassifierGroups, requirePe } from '../src/puppet/classifier-client.js';
import { diffHierarchies, sameHierarchy, transformGroups } from '../src/puppet/nc-transform.js';
import {
  ARCHIVE_PREFIX,
  archiveName,
  HOSTNAME,
  LATEST_ARCHIVE,
  NC_DEFAULTS,
  ncArchives,
  type NodeGroup,
  parseGroups,
  renderArchive,
  sha256Hex,
  SHIPPED_NC_DIR,
  shippedNames,
} from '../src/puppet/node-classification.js';
import {
  hasTransferKey,
  rsyncToReceiver,
  transferParams,
  transferPaths,
  transferSettings,
} from '../src/puppet/transfer.js';
import { defineTask, type HostCommands, type TaskContext } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/** Dumps the node classification; see the file comment. */
export const dumpNc = defineTask({
  name: 'dump_nc',
  description:
    "Archive the primary's PE node classification, hostnames rewritten for the replica; keep the last N; optionally ship it to the replica",
  details: `PE only. Run on the primary with receiver=<the replica's inventory name> (or to=<replica
certname>). GET /classifier-api/v1/groups with curl and the primary's own certificate; every whole
occurrence of <from> (default: the primary's certname) in rules, class parameters, variables and
config data becomes <to> (default: the receiver's certname). Writes <dump_dir>/nc_dump.<stamp>.json
with .sha256 and the nc_dump.latest.json link only when the classification differs from the newest
archive. With receiver, the newest archive is shipped through the transfer channel (run
setup_transfer first) to <receiver>:${SHIPPED_NC_DIR}/ (with the default transfer user), where
restore_nc looks.`,
  params: z.object({
    dump_dir: z
      .string()
      .regex(/^\/\S+$/)
      .default(NC_DEFAULTS.dumpDir)
      .describe('directory for the archives (created 0700, root)'),
    keep: z
      .number()
      .int()
      .min(1)
      .default(NC_DEFAULTS.keep)
      .describe('how many archives to keep (older ones and their .sha256 are removed)'),
    from: z.string().regex(HOSTNAME).optional().describe("the host name to rewrite (default: this host's certname)"),
    to: z.string().regex(HOSTNAME).optional().describe("what it becomes (default: the receiver's certname)"),
    classifier_host: z
      .string()
      .regex(HOSTNAME)
      .optional()
      .describe("the classifier (console) to read (default: this host's certname)"),
    classifier_port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(NC_DEFAULTS.port)
      .describe("the classifier's HTTPS port"),
    ...transferParams,
    receiver: transferParams.receiver
      .optional()
      .describe(
        "inventory name of the replica: its certname is the default 'to', and the newest archive is shipped to it (needs setup_transfer)",
      ),
  }),
  supportsNoop: true,
  async run(ctx) {
    const host = ctx.target.name;
    const receiver = ctx.params.receiver === undefined ? undefined : await ctx.peer(ctx.params.receiver);
    if (receiver) {
      // Shipping is replication: refuse before anything if either end forbids it.
      await assertReplicationAllowed(ctx, 'send', 'dump_nc');
      await assertReplicationAllowed(receiver, 'receive', 'dump_nc');
    }
    const facts = await discoverHost((c) => ctx.read(c));
    requirePe(facts, host, 'dump_nc', 'Nothing was written.');
    const from = ctx.params.from ?? facts.certname;
    const to = ctx.params.to ?? (receiver ? await receiverCertname(receiver) : undefined);
    if (to === undefined) {
      throw new PefError(
        'pef/param-error',
        `dump_nc on ${host}: name the replica (receiver=<inventory name>) or the host name to write (to=<replica certname>). Nothing was written.`,
        {},
      );
    }
    if (from.toLowerCase() === to.toLowerCase()) {
      throw new PefError(
        'pef/param-error',
        `dump_nc on ${host}: from and to are both ${from}; the archive is meant for another server (to=<replica certname>). Nothing was written.`,
        { from, to },
      );
    }

    // Read and rewrite the classification (read-only on the host).
    const tls = clientTlsPaths(facts.paths.ssldir, facts.certname);
    const base = classifierBase(ctx.params.classifier_host ?? facts.certname, ctx.params.classifier_port);
    const current = await readClassifierGroups(ctx, tls, base, 'Nothing was written.');
    const { groups, count } = transformGroups(current, { from, to });
    if (count === 0)
      ctx.log(`${from} does not occur in the classification's rules or parameters; the archive equals the source`);

    const run: DumpNcRun = {
      ctx,
      dir: ctx.params.dump_dir.replace(/\/+$/, ''),
      groups,
      content: renderArchive(groups),
      name: '',
      sum: '',
      same: false,
      names: [],
      changes: [],
    };
    await writeIfChanged(run, count);
    const pruned = await prune(run, ctx.params.keep);
    const shipped = receiver ? await ship(run, receiver) : undefined;
    return {
      changed: run.changes.length > 0,
      value: {
        dump_dir: run.dir,
        archive: `${run.dir}/${run.name}`,
        sha256: run.sum,
        groups: groups.length,
        replaced: { from, to, count },
        written: !run.same,
        pruned: pruned.filter((f) => !f.endsWith('.sha256')),
        ...(shipped ? { shipped } : {}),
      },
    };
  },
});

/** What dump_nc's phases share: the archive being written, and what changed. */
interface DumpNcRun {
  readonly ctx: TaskContext<DumpNcParams>;
  readonly dir: string;
  readonly groups: NodeGroup[];
  readonly content: string;
  /** The newest archive once written or found unchanged, and its sha256. */
  name: string;
  sum: string;
  /** True when the newest archive already classifies like `groups` (nothing written). */
  same: boolean;
  /** The archive directory's entries, including the one written. */
  names: string[];
  changes: string[];
}

type DumpNcParams = z.output<typeof dumpNc.params>;

/** Writes the archive (and points the latest link at it) only when it differs from the newest one, group by group. */
async function writeIfChanged(run: DumpNcRun, count: number): Promise<void> {
  const { ctx, dir } = run;
  const sha256 = sha256Hex(run.content);
  const state = parseArchiveState((await ctx.read(archiveStateCommand(dir, LATEST_ARCHIVE))).stdout);
  const newest = completeArchives(state.names, ncArchives(ARCHIVE_PREFIX.dump))[0];
  const newestSum = newest === undefined ? null : await archiveHolds(ctx, dir, newest, run.groups);
  run.same = newestSum !== null;
  run.name = newest ?? '';
  run.sum = newestSum ?? sha256;
  run.names = state.names;
  if (run.same) {
    if (state.latest !== run.name) {
      await ctx.change(linkLatestCommand(dir, run.name, LATEST_ARCHIVE));
      run.changes.push('latest link');
    }
    return;
  }
  run.name = archiveName(ARCHIVE_PREFIX.dump, dumpStamp(new Date()));
  const written = await ctx.change(archiveWriteCommand({ dir, name: run.name, latest: LATEST_ARCHIVE }), {
    stdin: run.content,
  });
  const got = written?.stdout.match(/^sha256=([0-9a-f]{64})$/m)?.[1];
  if (written && got !== sha256) {
    throw new PefError(
      'pef/task-failed',
      `The archive ${dir}/${run.name} on ${ctx.target.name} does not hold what was sent (sha256 ${got ?? '?'}, expected ${sha256}). Remove it and its .sha256, then run dump_nc again.`,
      { archive: `${dir}/${run.name}` },
    );
  }
  run.sum = sha256;
  run.names = [...run.names, run.name, `${run.name}.sha256`];
  run.changes.push('archive');
  ctx.log(`${dir}/${run.name}: ${run.groups.length} groups, ${count} host names rewritten`);
}

/** Removes archives beyond `keep`; returns the files removed. */
async function prune(run: DumpNcRun, keep: number): Promise<string[]> {
  const pruned = archivesToPrune(run.names, ncArchives(ARCHIVE_PREFIX.dump), keep);
  if (pruned.length > 0) {
    await run.ctx.change(removeFilesCommand(run.dir, pruned));
    run.changes.push('pruned');
  }
  return pruned;
}

/** Ships the newest archive through the transfer channel unless the receiver's copy is already it (checked by sha256). */
async function ship(run: DumpNcRun, receiver: HostCommands): Promise<Record<string, unknown>> {
  const { ctx, dir, name, sum } = run;
  const host = ctx.target.name;
  const settings = await transferSettings(ctx.params, receiver);
  const paths = transferPaths(settings);
  const incoming = `${paths.incoming}/${NC_DEFAULTS.shipName}`;
  const outbox = `${dir}/${NC_DEFAULTS.outbox}`;
  const box = parseArchiveState((await ctx.read(archiveStateCommand(outbox, LATEST_ARCHIVE))).stdout);
  const there = parseArchiveState((await receiver.read(archiveStateCommand(incoming, LATEST_ARCHIVE))).stdout);
  const upToDate = (s: { names: string[]; latest: string | null }) =>
    run.same && s.latest === name && s.names.slice().sort().join('\n') === shippedNames(name).join('\n');
  if (!upToDate(box)) await ctx.change(outboxCommand(dir, name, outbox, { latest: LATEST_ARCHIVE }));
  const thereSum = there.names.includes(name)
    ? (await receiver.read(sha256Command(`${incoming}/${name}`))).stdout.trim()
    : '';
  const current = upToDate(there) && thereSum === sum;
  if (!current) {
    if (!(await hasTransferKey(ctx, settings))) {
      throw new PefError(
        'pef/task-failed',
        `The archive ${dir}/${name} is on ${host} but was not shipped: there is no transfer key (${paths.key}). Run setup_transfer -t ${host} receiver=${receiver.target.name}, then dump_nc again.`,
        { archive: `${dir}/${name}` },
      );
    }
    // rsync's quick check (size, mtime) could keep a damaged copy of the same name: drop it first.
    if (thereSum !== '' && thereSum !== sum) await receiver.change(removeFilesCommand(incoming, [name]));
    try {
      await ctx.change(rsyncToReceiver(settings, outbox, NC_DEFAULTS.shipName));
    } catch (error) {
      throw new PefError(
        'pef/task-failed',
        `The archive ${dir}/${name} is on ${host} but shipping it to ${receiver.target.name} failed: ${(error as Error).message}. The receiver keeps the archive it had; run dump_nc again once the channel works (setup_transfer checks it).`,
        { archive: `${dir}/${name}` },
      );
    }
    if (!ctx.noop && (await receiver.read(sha256Command(`${incoming}/${name}`))).stdout.trim() !== sum) {
      throw new PefError(
        'pef/task-failed',
        `${incoming}/${name} on ${receiver.target.name} does not match ${dir}/${name} after shipping. Run dump_nc again; restore_nc refuses a copy that fails its checksum.`,
        { archive: `${dir}/${name}` },
      );
    }
    run.changes.push('shipped');
  }
  return { receiver: receiver.target.name, dir: incoming, sent: !current };
}

/** The replica's certname, asked on the replica. */
async function receiverCertname(receiver: HostCommands): Promise<string> {
  const facts = await discoverHost((c) => receiver.read(c));
  if (!facts.certname) {
    throw new PefError(
      'pef/task-failed',
      `dump_nc: \`puppet config print certname\` gave nothing on ${receiver.target.name}; pass to=<replica certname>. Nothing was written.`,
      {},
    );
  }
  return facts.certname;
}

/** The sha256 of `<dir>/<name>` when it checks out against its .sha256 and classifies like `groups`; else null. */
async function archiveHolds(
  host: HostCommands,
  dir: string,
  name: string,
  groups: readonly NodeGroup[],
): Promise<string | null> {
  const expected = parseChecksumFile((await host.read(`cat -- ${shQuote(`${dir}/${name}.sha256`)}`)).stdout);
  const text = (await host.read(`cat -- ${shQuote(`${dir}/${name}`)}`)).stdout;
  if (expected === null || sha256Hex(text) !== expected) return null;
  const parsed = parseGroups(text);
  return parsed.ok && sameHierarchy(diffHierarchies(parsed.groups, groups)) ? expected : null;
}
