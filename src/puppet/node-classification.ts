/**
 * PE node classification (dump_nc, restore_nc): the classifier API over curl on the host with the
 * host's own certificate (no key leaves it), validation of what the API returns, the hostname
 * transform from the primary to the replica, the order-insensitive comparison of two
 * hierarchies, and the archive files. Command text and parsers are pure (testable without PE);
 * `requirePe` and `readClassifierGroups` are the checks both tasks make on a host.
 *
 * Archive layout: `<dir>/nc_dump.<UTC stamp>.json` (the transformed `GET /groups` array, what
 * `POST /import-hierarchy` takes) with `<file>.sha256` (sha256sum format) beside it, and
 * `nc_dump.latest.json`, a symlink to the newest. An archive counts once its `.sha256` exists:
 * both are written under temp names and renamed, the checksum last.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PefError } from '../errors/pef-error.js';
import type { HostFacts } from '../host/discover.js';
import type { CommandOutput } from '../transport/transport.js';
import { shQuote } from '../util/shell-quote.js';
import { TRANSFER_DEFAULTS } from './transfer.js';

/** Defaults of the NC tasks. */
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
export interface HostnameReplacement {
  from: string;
  to: string;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The rule of the transform, for one string: every occurrence of `from` as a whole host name is
 * replaced by `to`, also inside longer strings (`"primary.lab:8140"`, `"https://primary.lab/x"`),
 * and in its regex-escaped form (`primary\.lab` in a `~` rule becomes `replica\.lab`). A whole
 * host name: not preceded by a letter, digit, `_`, `-` or `.` (so `db.primary.lab` is another
 * host) and not followed by a letter, digit, `_`, `-`, or a dot and a label (so
 * `primary.lab.example` is another host; a sentence's closing dot is fine). Matching ignores
 * case, as DNS does; the replacement is `to` as given. Returns the string and the count.
 */
export function replaceHostname(text: string, r: HostnameReplacement): { text: string; count: number } {
  const literal = escapeRegex(r.from);
  const escaped = escapeRegex(escapeRegex(r.from));
  const pattern = new RegExp(
    `(?<![A-Za-z0-9_.-])(?:${escaped === literal ? literal : `${escaped}|${literal}`})(?![A-Za-z0-9_-])(?!\\\\?\\.[A-Za-z0-9_-])`,
    'gi',
  );
  let count = 0;
  const out = text.replace(pattern, (match) => {
    count++;
    return match.includes('\\') ? escapeRegex(r.to) : r.to;
  });
  return { text: out, count };
}

// Values only: keys are class, parameter and variable names, never host names.
function transformValue(value: unknown, r: HostnameReplacement, counter: { count: number }): unknown {
  if (typeof value === 'string') {
    const out = replaceHostname(value, r);
    counter.count += out.count;
    return out.text;
  }
  if (Array.isArray(value)) return value.map((v) => transformValue(v, r, counter));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, transformValue(v, r, counter)]));
  }
  return value;
}

/** The fields the transform rewrites; ids, names, parents, environments and descriptions stay. */
export const TRANSFORMED_FIELDS = ['rule', 'classes', 'variables', 'config_data'] as const;

/** Applies `replaceHostname` to every string value in the rules, class parameters, variables and config data of every group. */
export function transformGroups(
  groups: readonly NodeGroup[],
  r: HostnameReplacement,
): { groups: NodeGroup[]; count: number } {
  const counter = { count: 0 };
  const out = groups.map((group) => {
    const copy: Record<string, unknown> = { ...group };
    for (const field of TRANSFORMED_FIELDS)
      if (copy[field] !== undefined) copy[field] = transformValue(copy[field], r, counter);
    return copy as NodeGroup;
  });
  return { groups: out, count: counter.count };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * A group as the comparison sees it: the fields that classify (bookkeeping such as
 * serial_number or last_edited left out), absent values as the API's defaults, keys sorted.
 * Array order counts (rules and parameter lists are ordered).
 */
export function canonicalGroup(group: NodeGroup): string {
  return JSON.stringify(
    sortKeys({
      id: group.id,
      name: group.name,
      parent: group.parent,
      environment: group.environment ?? 'production',
      environment_trumps: group.environment_trumps ?? false,
      rule: group.rule ?? null,
      classes: group.classes,
      variables: group.variables ?? {},
      config_data: group.config_data ?? {},
      description: group.description ?? '',
    }),
  );
}

/** How two hierarchies differ, by group name (matched by id; group order does not count). */
export interface HierarchyDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

/** What would change if `current` were replaced by `wanted`. */
export function diffHierarchies(current: readonly NodeGroup[], wanted: readonly NodeGroup[]): HierarchyDiff {
  const have = new Map(current.map((g) => [g.id, g]));
  const want = new Map(wanted.map((g) => [g.id, g]));
  return {
    added: wanted.filter((g) => !have.has(g.id)).map((g) => g.name),
    removed: current.filter((g) => !want.has(g.id)).map((g) => g.name),
    changed: wanted
      .filter((g) => have.has(g.id) && canonicalGroup(have.get(g.id)!) !== canonicalGroup(g))
      .map((g) => g.name),
  };
}

/** True when the diff is empty: both hierarchies classify the same. */
export function sameHierarchy(diff: HierarchyDiff): boolean {
  return diff.added.length + diff.removed.length + diff.changed.length === 0;
}

/** One line for messages: `added A; changed B, C`. */
export function describeDiff(diff: HierarchyDiff): string {
  const parts = (['added', 'removed', 'changed'] as const)
    .filter((k) => diff[k].length > 0)
    .map((k) => `${k} ${diff[k].join(', ')}`);
  return parts.join('; ') || 'no difference';
}

/** The archive text: the groups as pretty JSON with a final newline. */
export function renderArchive(groups: readonly NodeGroup[]): string {
  return `${JSON.stringify(groups, null, 2)}\n`;
}

/** sha256 of text as UTF-8, in hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The first sha256 in a `.sha256` file, or null. */
export function parseChecksumFile(text: string): string | null {
  return /^([0-9a-fA-F]{64})\b/.exec(text.trim())?.[1]?.toLowerCase() ?? null;
}

/** The file name of an archive with `prefix` taken at `stamp` (`dumpStamp`). */
export function archiveName(prefix: string, stamp: string): string {
  return `${prefix}.${stamp}.json`;
}

function isArchive(prefix: string, name: string): boolean {
  return new RegExp(`^${escapeRegex(prefix)}\\.\\d{8}T\\d{9}Z\\.json$`).test(name);
}

/** A directory's archive-relevant state, as `archiveStateCommand` prints it. */
export interface ArchiveState {
  /** Every entry of the directory (an empty list when it does not exist). */
  names: string[];
  /** Where `nc_dump.latest.json` points, or null. */
  latest: string | null;
}

const LATEST_MARK = 'pef-latest->';

/** Lists `dir` and where its latest link points (read-only; nothing when `dir` is absent). */
export function archiveStateCommand(dir: string): string {
  return `cd ${shQuote(dir)} 2>/dev/null || exit 0; ls -1A; echo "${LATEST_MARK}$(readlink ${LATEST_ARCHIVE} 2>/dev/null)"`;
}

/** Reads `archiveStateCommand` output. */
export function parseArchiveState(stdout: string): ArchiveState {
  const names: string[] = [];
  let latest: string | null = null;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(LATEST_MARK)) latest = line.slice(LATEST_MARK.length).trim() || null;
    else if (line.trim() !== '') names.push(line.trim());
  }
  return { names, latest };
}

/** Archives with `prefix` that have their `.sha256`, newest first (stamps sort by time). */
export function completeArchives(names: readonly string[], prefix: string): string[] {
  const present = new Set(names);
  return names
    .filter((n) => isArchive(prefix, n) && present.has(`${n}.sha256`))
    .sort()
    .reverse();
}

/**
 * Files to remove so that `keep` complete archives remain: every archive that is not among the
 * newest `keep` complete ones and is older than the newest complete one (a newer incomplete
 * archive may still be being written), with its `.sha256`.
 */
export function archivesToPrune(names: readonly string[], prefix: string, keep: number): string[] {
  const complete = completeArchives(names, prefix);
  const newest = complete[0];
  if (newest === undefined) return [];
  const kept = new Set(complete.slice(0, Math.max(keep, 1)));
  const present = new Set(names);
  return names
    .filter((n) => isArchive(prefix, n) && !kept.has(n) && n < newest)
    .sort()
    .flatMap((n) => (present.has(`${n}.sha256`) ? [n, `${n}.sha256`] : [n]));
}

/**
 * Writes stdin to `<dir>/<name>` (dir created 0700, files 0600) with its checksum, both under temp
 * names and renamed, checksum last; with `latest`, then points that symlink at it (atomically).
 * Prints `sha256=<sum of the bytes written>`.
 */
export function writeArchiveCommand(dir: string, name: string, options: { latest?: string } = {}): string {
  const tmp = `${dir}/.${name}.partial`;
  return [
    'set -e',
    'umask 077',
    `install -d -m 700 ${shQuote(dir)}`,
    `tmp=${shQuote(tmp)}`,
    `trap 'rm -f "$tmp" "$tmp.sha256"' EXIT`,
    'cat > "$tmp"',
    `sum=$(sha256sum "$tmp" | cut -d ' ' -f 1)`,
    `printf '%s  %s\\n' "$sum" ${shQuote(name)} > "$tmp.sha256"`,
    `mv -f "$tmp" ${shQuote(`${dir}/${name}`)}`,
    `mv -f "$tmp.sha256" ${shQuote(`${dir}/${name}.sha256`)}`,
    ...(options.latest === undefined ? [] : [linkLatest(dir, name, options.latest)]),
    'echo "sha256=$sum"',
  ].join('\n');
}

function linkLatest(dir: string, target: string, link: string): string {
  const tmpLink = `${dir}/.${link}.partial`;
  return `ln -sfn ${shQuote(target)} ${shQuote(tmpLink)} && mv -Tf ${shQuote(tmpLink)} ${shQuote(`${dir}/${link}`)}`;
}

/** Points `<dir>/nc_dump.latest.json` at `name` (atomically). */
export function linkLatestCommand(dir: string, name: string): string {
  return linkLatest(dir, name, LATEST_ARCHIVE);
}

/** Removes `files` (names in `dir`). */
export function removeFilesCommand(dir: string, files: readonly string[]): string {
  return `cd ${shQuote(dir)} && rm -f -- ${files.map(shQuote).join(' ')}`;
}

/** What the outbox (and so the receiver's copy) holds when it is up to date with archive `name`. */
export function shippedNames(name: string): string[] {
  return [LATEST_ARCHIVE, name, `${name}.sha256`].sort();
}

/**
 * Makes `<dir>/.outbox/` hold exactly archive `name`, its checksum (hard links: no copy) and the
 * latest link, so shipping the outbox sends only the newest archive.
 */
export function outboxCommand(dir: string, name: string): string {
  const box = `${dir}/${NC_DEFAULTS.outbox}`;
  return [
    'set -e',
    `install -d -m 700 ${shQuote(box)}`,
    `ln -f ${shQuote(`${dir}/${name}`)} ${shQuote(`${box}/${name}`)}`,
    `ln -f ${shQuote(`${dir}/${name}.sha256`)} ${shQuote(`${box}/${name}.sha256`)}`,
    linkLatest(box, name, LATEST_ARCHIVE),
    `find ${shQuote(box)} -mindepth 1 -maxdepth 1 ! -name ${shQuote(name)} ! -name ${shQuote(`${name}.sha256`)} ! -name ${shQuote(LATEST_ARCHIVE)} -exec rm -rf -- {} +`,
  ].join('\n');
}

/** The host's own client certificate, key and CA bundle (puppet's hostcert, hostprivkey, localcacert). */
export interface ClientTls {
  cert: string;
  key: string;
  cacert: string;
}

/** The client TLS files under a host's ssldir. */
export function clientTlsPaths(ssldir: string, certname: string): ClientTls {
  return {
    cert: `${ssldir}/certs/${certname}.pem`,
    key: `${ssldir}/private_keys/${certname}.pem`,
    cacert: `${ssldir}/certs/ca.pem`,
  };
}

/** The classifier API's base URL. */
export function classifierBase(host: string, port: number): string {
  return `https://${host}:${port}/classifier-api/v1`;
}

const STATUS_MARK = 'pef-http-status:';

// PE's own curl (OpenSSL, current) first; the system curl otherwise. Only paths reach the command line.
function curl(tls: ClientTls, args: readonly string[]): string {
  return [
    'PATH=/opt/puppetlabs/puppet/bin:$PATH curl -sS --connect-timeout 10 --max-time 300',
    `--cert ${shQuote(tls.cert)} --key ${shQuote(tls.key)} --cacert ${shQuote(tls.cacert)}`,
    ...args,
    `-w ${shQuote(`\\n${STATUS_MARK}%{http_code}\\n`)}`,
  ].join(' ');
}

/**
 * `GET <base>/groups` with the host's certificate. The HTTP status is printed after the body
 * (`parseHttpReply`) rather than turned into an exit code, so every status is reported with its
 * body, on any curl version (`--fail-with-body` needs 7.76).
 */
export function classifierGetCommand(tls: ClientTls, base: string): string {
  return curl(tls, ['-H', shQuote('Accept: application/json'), shQuote(`${base}/groups`)]);
}

/** `POST <base>/import-hierarchy` with the body on stdin. */
export function classifierImportCommand(tls: ClientTls, base: string): string {
  return curl(tls, [
    '-X POST -H',
    shQuote('Content-Type: application/json'),
    '--data-binary @-',
    shQuote(`${base}/import-hierarchy`),
  ]);
}

/** An HTTP reply as the curl commands print it. */
export interface HttpReply {
  /** 0 when curl got no HTTP answer. */
  status: number;
  body: string;
}

/** Reads a curl command's stdout; null when the status line is missing. */
export function parseHttpReply(stdout: string): HttpReply | null {
  const at = stdout.lastIndexOf(`\n${STATUS_MARK}`);
  if (at < 0) return null;
  const status = Number.parseInt(stdout.slice(at + STATUS_MARK.length + 1), 10);
  return Number.isNaN(status) ? null : { status, body: stdout.slice(0, at) };
}

/** The start of a reply body for an error message: one line, at most `max` characters. */
export function bodyExcerpt(body: string, max = 300): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(empty body)';
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** What a curl exit status means, for error messages (exit statuses from curl's manual). */
export function curlFailureHint(exitCode: number | null): string {
  switch (exitCode) {
    case 6:
      return 'the host name does not resolve';
    case 7:
      return 'nothing listens there: is pe-console-services running?';
    case 28:
      return 'it timed out';
    case 35:
      return 'the TLS handshake failed: the classifier refused the client certificate or the host is not a PE console';
    case 58:
      return "curl could not use the host's certificate or key";
    case 60:
      return "the server's certificate is not signed by the host's CA or does not name that host";
    case 77:
      return "curl could not read the host's CA bundle";
    case null:
      return 'curl was killed';
    default:
      return `curl exited with ${exitCode}`;
  }
}

/** Refuses a host that is not PE (open-source Puppet has no node classifier API) or has no certname. */
export function requirePe(facts: HostFacts, host: string, task: string, state: string): void {
  if (facts.flavor !== 'pe') {
    throw new PefError(
      'pef/task-failed',
      `${task} is for Puppet Enterprise, but ${host} is open-source Puppet (no /opt/puppetlabs/server/pe_version): it has no node classifier API. ${state}`,
      { flavor: facts.flavor },
    );
  }
  if (!facts.certname || !facts.paths.ssldir) {
    throw new PefError(
      'pef/task-failed',
      `${task}: \`puppet config print certname ssldir\` gave nothing on ${host}, so its client certificate cannot be found. Is the PE agent installed? ${state}`,
      {},
    );
  }
}

/** The reading side of a host, as tasks have it (`ctx` or a peer). */
export interface ClassifierClientHost {
  readonly target: { readonly name: string };
  read(command: string, options?: { okExitCodes?: readonly number[] }): Promise<CommandOutput>;
}

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/**
 * `GET <base>/groups` from `host` with its certificate, validated; throws `pef/task-failed`
 * naming the URL, the status or curl's failure, and `state` (what the task left).
 */
export async function readClassifierGroups(
  host: ClassifierClientHost,
  tls: ClientTls,
  base: string,
  state: string,
): Promise<NodeGroup[]> {
  const name = host.target.name;
  const url = `${base}/groups`;
  const out = await host.read(classifierGetCommand(tls, base), { okExitCodes: ANY_EXIT });
  const reply = parseHttpReply(out.stdout);
  if (out.exitCode !== 0 || reply === null || reply.status === 0) {
    const detail = out.stderr.trim().split('\n').pop() ?? '';
    throw new PefError(
      'pef/task-failed',
      `GET ${url} on ${name} failed: ${curlFailureHint(out.exitCode)}${detail ? ` (${detail})` : ''}. ${state}`,
      { url, exitCode: out.exitCode },
    );
  }
  if (reply.status !== 200) {
    const hint =
      reply.status === 403
        ? ` Put ${name}'s certname on the classifier's certificate allow-list (PE: /etc/puppetlabs/console-services/rbac-certificate-allowlist).`
        : '';
    throw new PefError(
      'pef/task-failed',
      `GET ${url} on ${name} answered HTTP ${reply.status}: ${bodyExcerpt(reply.body)}.${hint} ${state}`,
      { url, status: reply.status },
    );
  }
  const parsed = parseGroups(reply.body);
  if (!parsed.ok)
    throw new PefError(
      'pef/task-failed',
      `GET ${url} on ${name} did not return node groups: ${parsed.problem}. ${state}`,
      { url },
    );
  return parsed.groups;
}
