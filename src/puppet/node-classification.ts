/**
 * PE node classification (dump_nc, restore_nc): defaults, the validation of what the classifier
 * API returns (`parseGroups`), and the archive names. The classifier client (curl on the host
 * with its own certificate) is in classifier-client.ts, the hostname transform and the
 * comparison of two hierarchies in nc-transform.ts, the archive lifecycle in src/host/archive.ts.
 *
 * Archive layout: `<dir>/nc_dump.<UTC stamp>.json` (the transformed `GET /groups` array, what
 * `POST /import-hierarchy` takes) with `<file>.sha256` (sha256sum format) beside it, and
 * `nc_dump.latest.json`, a symlink to the newest. An archive counts once its `.sha256` exists:
 * both are written under temp names and renamed, the checksum last.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TRANSFER_DEFAULTS } from './transfer.js';

export const NC_DEFAULTS = {
  /** dump_nc's archive directory (root, 0700); PE keeps its own data under /opt/puppetlabs, pef under /var/lib/pef. */
  dumpDir: '/var/lib/pef/nc_dumps',
  /** restore_nc's copies of the replica's hierarchy as it was before each import. */
  backupDir: '/var/lib/pef/nc_backups',
  keep: 10,
  /** PE console-services' HTTPS port (classifier, RBAC). */
  port: 4433,
  /** Under the dump dir: hard links to the newest archive, what gets shipped. */
  outbox: '.outbox',
  /** The name the outbox lands under in the receiver's `incoming/`. */
  shipName: 'nc_dumps',
} as const;

/** Where shipped archives land on the receiver with the default transfer user (restore_nc's default). */
export const SHIPPED_NC_DIR = `${TRANSFER_DEFAULTS.home}/incoming/${NC_DEFAULTS.shipName}`;

/** File name prefixes: dump_nc's archives and restore_nc's before-import copies. */
export const ARCHIVE_PREFIX = { dump: 'nc_dump', backup: 'nc_before_restore' } as const;

/** The symlink to the newest archive. */
export const LATEST_ARCHIVE = 'nc_dump.latest.json';

/** A host name as `from`/`to` accept it (a certname). */
export const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$/;

const jsonObject = z.record(z.string(), z.unknown());

// What pef relies on; other keys (serial_number, last_edited, deleted …) are kept as they are.
const groupSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  parent: z.string().min(1),
  rule: z.array(z.unknown()).nullable().optional(),
  classes: z.record(z.string(), jsonObject),
  variables: jsonObject.optional(),
  config_data: z.record(z.string(), jsonObject).optional(),
  environment: z.string().optional(),
  environment_trumps: z.boolean().optional(),
  description: z.string().nullable().optional(),
});

/** One node group as the classifier API returns it. */
export type NodeGroup = z.infer<typeof groupSchema>;

/** The outcome of `parseGroups`. */
export type GroupsParse = { ok: true; groups: NodeGroup[] } | { ok: false; problem: string };

/** Checks text from `GET /groups` (or an archive): a JSON array of node groups with unique ids. */
export function parseGroups(text: string): GroupsParse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not JSON (${(error as Error).message})` };
  }
  if (!Array.isArray(body))
    return { ok: false, problem: `a JSON ${body === null ? 'null' : typeof body}, not an array of node groups` };
  if (body.length === 0)
    return { ok: false, problem: 'an empty array: a classifier always has at least the "All Nodes" group' };
  const groups: NodeGroup[] = [];
  for (const [index, item] of body.entries()) {
    const parsed = groupSchema.safeParse(item);
    if (!parsed.success) {
      const name =
        typeof item === 'object' && item !== null && typeof (item as { name?: unknown }).name === 'string'
          ? ` ("${(item as { name: string }).name}")`
          : '';
      const issues = parsed.error.issues
        .map((i) => `${i.path.map(String).join('.') || '(group)'}: ${i.message}`)
        .join('; ');
      return { ok: false, problem: `group ${index}${name} is not a node group: ${issues}` };
    }
    groups.push(parsed.data);
  }
  const seen = new Set<string>();
  for (const g of groups) {
    if (seen.has(g.id)) return { ok: false, problem: `group id ${g.id} appears twice` };
    seen.add(g.id);
  }
  return { ok: true, groups };
}

/** One hostname to rewrite. */
/** The archive text: the groups as pretty JSON with a final newline. */
export function renderArchive(groups: readonly NodeGroup[]): string {
  return `${JSON.stringify(groups, null, 2)}\n`;
}

/** sha256 of text as UTF-8, in hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The file name of an archive with `prefix` taken at `stamp` (`dumpStamp`). */
export function archiveName(prefix: string, stamp: string): string {
  return `${prefix}.${stamp}.json`;
}

/** Which names are archives with `prefix` (`archiveName`), for src/host/archive.ts. */
export function ncArchives(prefix: string): (name: string) => boolean {
  return (name) => name.startsWith(`${prefix}.`) && /^\d{8}T\d{9}Z\.json$/.test(name.slice(prefix.length + 1));
}

/** What the outbox (and so the receiver's copy) holds when it is up to date with archive `name`. */
export function shippedNames(name: string): string[] {
  return [LATEST_ARCHIVE, name, `${name}.sha256`].sort();
}
