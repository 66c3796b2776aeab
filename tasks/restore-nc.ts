/**
 * restore_nc: make the replica's PE node classification the newest dump_nc archive (PE only).
 *
 * Checks first, changes nothing until they pass: the replication kill-switch and mode, the
 * archive's sha256 (computed over exactly the bytes that will be posted), its shape as node
 * groups. Then the replica's classifier is read (`GET /groups`, curl with the replica's own
 * certificate) and compared group by group; an equal hierarchy is left alone. Otherwise the
 * current hierarchy is saved beside the other backups, the archive is posted to
 * `POST /import-hierarchy` (which replaces the whole hierarchy in one transaction: it either
 * takes all of it or none), the status must be 204 (peadm's restore_classification never
 * checked it), and a second GET must equal the archive.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import { dumpStamp } from '../src/puppet/databases.js';
import { assertReplicationAllowed } from '../src/puppet/mode.js';
import {
  archiveStateCommand,
  archivesToPrune,
  archiveWriteCommand,
  completeArchives,
  parseArchiveState,
  parseChecksumFile,
  removeFilesCommand,
} from '../src/host/archive.js';
import {
  bodyExcerpt,
  classifierBase,
  classifierImportCommand,
  clientTlsPaths,
  curlFailureHint,
  parseHttpReply,
  readClassifierGroups,
  requirePe,
} from '../src/puppet/classifier-client.js';
import { describeDiff, diffHierarchies, sameHierarchy } from '../src/puppet/nc-transform.js';
import {
  ARCHIVE_PREFIX,
  archiveName,
  HOSTNAME,
  NC_DEFAULTS,
  ncArchives,
  parseGroups,
  renderArchive,
  sha256Hex,
  SHIPPED_NC_DIR,
} from '../src/puppet/node-classification.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

const UNCHANGED = 'Nothing was changed.';

/** Restores the node classification; see the file comment. */
export const restoreNc = defineTask({
  name: 'restore_nc',
  description:
    "Import the newest dump_nc archive into the replica's PE classifier (checksum, compare, import-hierarchy, verify)",
  details: `PE only. Run on the replica, after dump_nc receiver=<replica> on the primary. Uses the newest
complete archive in dump_dir (nc_dump.<stamp>.json with its .sha256). Refused while the replica's
replication kill-switch is on or it is active. An equal classification is left alone (changed:
false). Before an import, the replica's current hierarchy is saved as
<backup_dir>/nc_before_restore.<stamp>.json (the last <keep> are kept). import-hierarchy is atomic:
when it does not answer 204, the replica's classification is unchanged.`,
  params: z.object({
    dump_dir: z
      .string()
      .regex(/^\/\S+$/)
      .default(SHIPPED_NC_DIR)
      .describe('where the archives are (dump_nc ships them here)'),
    backup_dir: z
      .string()
      .regex(/^\/\S+$/)
      .default(NC_DEFAULTS.backupDir)
      .describe("where the replica's hierarchy is saved before each import (created 0700, root)"),
    keep: z.number().int().min(1).default(NC_DEFAULTS.keep).describe('how many of those saved hierarchies to keep'),
    classifier_host: z
      .string()
      .regex(HOSTNAME)
      .optional()
      .describe("the classifier (console) to import into (default: this host's certname)"),
    classifier_port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(NC_DEFAULTS.port)
      .describe("the classifier's HTTPS port"),
  }),
  supportsNoop: true,
  // Long on purpose: it reads as the runbook it replaces, each step in order with its refusal
  // beside it; the step helpers live in src/.
  async run(ctx) {
    const host = ctx.target.name;
    // A promoted (active) server or one with the kill-switch set never takes a restore.
    await assertReplicationAllowed(ctx, 'receive', 'restore_nc');
    const facts = await discoverHost((c) => ctx.read(c));
    requirePe(facts, host, 'restore_nc', UNCHANGED);

    // The archive: newest complete one, its checksum over the very text that will be posted.
    const dir = ctx.params.dump_dir.replace(/\/+$/, '');
    const newest = completeArchives(
      parseArchiveState((await ctx.read(archiveStateCommand(dir))).stdout).names,
      ncArchives(ARCHIVE_PREFIX.dump),
    )[0];
    if (newest === undefined) {
      throw new PefError(
        'pef/task-failed',
        `No complete NC archive (nc_dump.<stamp>.json with its .sha256) in ${dir} on ${host}. Run dump_nc receiver=${host} on the primary, or set dump_dir. ${UNCHANGED}`,
        { dir },
      );
    }
    const path = `${dir}/${newest}`;
    const expected = parseChecksumFile((await ctx.read(`cat -- ${shQuote(`${path}.sha256`)}`)).stdout);
    const text = (await ctx.read(`cat -- ${shQuote(path)}`)).stdout;
    const actual = sha256Hex(text);
    if (expected === null || actual !== expected) {
      throw new PefError(
        'pef/task-failed',
        `Checksum mismatch for ${path} on ${host}: sha256 ${actual}, but ${newest}.sha256 says ${expected ?? '(no sha256)'}. The archive is damaged or incomplete and was refused. ${UNCHANGED} Run dump_nc receiver=${host} on the primary again.`,
        { path, expected, actual },
      );
    }
    const parsed = parseGroups(text);
    if (!parsed.ok) {
      throw new PefError(
        'pef/task-failed',
        `${path} on ${host} matches its checksum but holds no node groups: ${parsed.problem}. It was refused. ${UNCHANGED}`,
        { path },
      );
    }
    const wanted = parsed.groups;

    // The replica's classifier now, compared group by group.
    const tls = clientTlsPaths(facts.paths.ssldir, facts.certname);
    const base = classifierBase(ctx.params.classifier_host ?? facts.certname, ctx.params.classifier_port);
    const current = await readClassifierGroups(ctx, tls, base, UNCHANGED);
    const diff = diffHierarchies(current, wanted);
    const report = { archive: path, sha256: actual, groups: wanted.length, classifier: base };
    if (sameHierarchy(diff))
      return { changed: false, value: { ...report, note: 'the classifier already holds this archive' } };
    ctx.log(`${base}: ${describeDiff(diff)}`);

    // Keep what is about to be replaced.
    const backupDir = ctx.params.backup_dir.replace(/\/+$/, '');
    const backup = archiveName(ARCHIVE_PREFIX.backup, dumpStamp(new Date()));
    await ctx.change(archiveWriteCommand({ dir: backupDir, name: backup }), { stdin: renderArchive(current) });
    const backups = parseArchiveState((await ctx.read(archiveStateCommand(backupDir))).stdout).names;
    const pruned = archivesToPrune(
      [...new Set([...backups, backup, `${backup}.sha256`])],
      ncArchives(ARCHIVE_PREFIX.backup),
      ctx.params.keep,
    );
    if (pruned.length > 0) await ctx.change(removeFilesCommand(backupDir, pruned));
    const saved = `its hierarchy before this run is saved in ${backupDir}/${backup}`;

    const out = await ctx.change(classifierImportCommand(tls, base), {
      stdin: text,
      okExitCodes: Array.from({ length: 256 }, (_, i) => i),
    });
    if (out !== undefined) {
      const reply = parseHttpReply(out.stdout);
      if (out.exitCode !== 0 || reply === null || reply.status === 0) {
        const detail = out.stderr.trim().split('\n').pop() ?? '';
        throw new PefError(
          'pef/task-failed',
          `POST ${base}/import-hierarchy on ${host} failed: ${curlFailureHint(out.exitCode)}${detail ? ` (${detail})` : ''}. The import is atomic, so the replica's classification is either unchanged or the archive's; run restore_nc again (it compares first). ${saved}.`,
          { url: `${base}/import-hierarchy`, exitCode: out.exitCode, backup: `${backupDir}/${backup}` },
        );
      }
      if (reply.status !== 204) {
        throw new PefError(
          'pef/task-failed',
          `POST ${base}/import-hierarchy on ${host} answered HTTP ${reply.status} (204 expected): ${bodyExcerpt(reply.body)}. The import is atomic: the replica's classification is unchanged (${saved}). Fix the archive's source on the primary, then run dump_nc and restore_nc again.`,
          { url: `${base}/import-hierarchy`, status: reply.status, archive: path, backup: `${backupDir}/${backup}` },
        );
      }
      const after = diffHierarchies(
        await readClassifierGroups(ctx, tls, base, `The import answered 204; ${saved}.`),
        wanted,
      );
      if (!sameHierarchy(after)) {
        throw new PefError(
          'pef/task-failed',
          `POST ${base}/import-hierarchy on ${host} answered 204, but the classifier's groups still differ from ${path}: ${describeDiff(after)}. Something else changed the classification meanwhile, or the classifier rewrote the import; ${saved}. Run restore_nc again.`,
          { archive: path, diff: after, backup: `${backupDir}/${backup}` },
        );
      }
    }
    return {
      changed: true,
      value: {
        ...report,
        groups_added: diff.added,
        groups_removed: diff.removed,
        groups_changed: diff.changed,
        backup: `${backupDir}/${backup}`,
        pruned_backups: pruned.filter((f) => !f.endsWith('.sha256')),
      },
    };
  },
});
