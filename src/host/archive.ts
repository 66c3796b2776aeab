/**
 * Checksummed archives on a host, the one lifecycle dump_db, dump_nc and restore_nc share:
 * `<dir>/<name>` with `<name>.sha256` (sha256sum format) beside it, written under temp names in
 * the same directory and renamed, the checksum last, so an archive counts once its `.sha256`
 * exists; optionally a "latest" symlink, switched atomically; retention (`archivesToPrune`, which
 * never removes a newer incomplete archive); and an outbox, a directory of hard links holding
 * exactly the newest archive, which is what gets shipped to the other server.
 *
 * Command text and parsers only (pure; the tests run the commands for real in a temp dir).
 * Every write goes through `writeLines` (the root-safe rule for service-owned directories is there).
 */
import { shQuote } from '../util/shell-quote.js';

/** How one archive is written. */
export interface ArchiveWrite {
  /** The directory (created 0700 if absent). */
  dir: string;
  name: string;
  /** Owner of the directory and files (a service account, e.g. postgres); default root. */
  owner?: string;
  /** A command that writes the archive to "$tmp" (e.g. pg_dump -f "$tmp"); default: stdin. */
  produce?: string;
  /** A symlink in `dir` pointed at the new archive once it is complete. */
  latest?: string;
}

// The lines that write "$tmp" (from `produce` or stdin) and its checksum. In a directory a service
// account owns, that account reads and writes there itself, so root never follows a link it could
// plant (root only renames, which never follows one); in root's own directories root writes.
function writeLines(w: ArchiveWrite): string[] {
  const sumLine = (as: string) => `printf '%s  %s\\n' "$sum" ${shQuote(w.name)} | ${as}`;
  if (w.owner === undefined)
    return [w.produce ?? 'cat > "$tmp"', `sum=$(sha256sum "$tmp" | cut -d ' ' -f 1)`, sumLine('cat > "$tmp.sha256"')];
  const as = `cd / && runuser -u ${shQuote(w.owner)} --`;
  return [
    w.produce ?? `(${as} tee "$tmp" >/dev/null)`,
    `sum=$(${as} sha256sum "$tmp" | cut -d ' ' -f 1)`,
    sumLine(`(${as} tee "$tmp.sha256" >/dev/null)`),
  ];
}

/**
 * Writes one archive (see the file comment): dir created 0700, files 0600, both renamed into
 * place, checksum last; a failure leaves neither file behind. Prints `size=` and `sha256=`.
 */
export function archiveWriteCommand(w: ArchiveWrite): string {
  const tmp = `${w.dir}/.${w.name}.partial`;
  const final = `${w.dir}/${w.name}`;
  return [
    'set -e',
    'umask 077',
    `install -d -m 700${w.owner === undefined ? '' : ` -o ${shQuote(w.owner)}`} ${shQuote(w.dir)}`,
    `tmp=${shQuote(tmp)}`,
    `trap 'rm -f "$tmp" "$tmp.sha256"' EXIT`,
    ...writeLines(w),
    `mv -f "$tmp" ${shQuote(final)}`,
    `mv -f "$tmp.sha256" ${shQuote(`${final}.sha256`)}`,
    ...(w.latest === undefined ? [] : [linkLatestCommand(w.dir, w.name, w.latest)]),
    `echo "size=$(stat -c %s ${shQuote(final)})"`,
    'echo "sha256=$sum"',
  ].join('\n');
}

/** Points the symlink `<dir>/<link>` at `name` (atomically: a temp link renamed over it). */
export function linkLatestCommand(dir: string, name: string, link: string): string {
  const tmpLink = `${dir}/.${link}.partial`;
  return `ln -sfn ${shQuote(name)} ${shQuote(tmpLink)} && mv -Tf ${shQuote(tmpLink)} ${shQuote(`${dir}/${link}`)}`;
}

/** A directory's archive-relevant state, as `archiveStateCommand` prints it. */
export interface ArchiveState {
  /** Every entry of the directory (an empty list when it does not exist). */
  names: string[];
  /** Where the latest link points, or null. */
  latest: string | null;
}

const LATEST_MARK = 'pef-latest->';

/** Lists `dir` and where its `latest` link points (read-only; nothing when `dir` is absent). */
export function archiveStateCommand(dir: string, latest?: string): string {
  const link = latest === undefined ? '' : `$(readlink ${shQuote(latest)} 2>/dev/null)`;
  return `cd ${shQuote(dir)} 2>/dev/null || exit 0; ls -1A; echo "${LATEST_MARK}${link}"`;
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

/** Which names are archives of one kind (their names sort by time). */
export type ArchiveMatcher = (name: string) => boolean;

/** Archives that have their `.sha256`, newest first. */
export function completeArchives(names: readonly string[], isArchive: ArchiveMatcher): string[] {
  const present = new Set(names);
  return names
    .filter((n) => isArchive(n) && present.has(`${n}.sha256`))
    .sort()
    .reverse();
}

/**
 * Files to remove so that `keep` complete archives remain: every archive that is not among the
 * newest `keep` complete ones and is older than the newest complete one (a newer incomplete
 * archive may still be being written), with its `.sha256`.
 */
export function archivesToPrune(names: readonly string[], isArchive: ArchiveMatcher, keep: number): string[] {
  const complete = completeArchives(names, isArchive);
  const newest = complete[0];
  if (newest === undefined) return [];
  const kept = new Set(complete.slice(0, Math.max(keep, 1)));
  const present = new Set(names);
  return names
    .filter((n) => isArchive(n) && !kept.has(n) && n < newest)
    .sort()
    .flatMap((n) => (present.has(`${n}.sha256`) ? [n, `${n}.sha256`] : [n]));
}

/** Removes `files` (names in `dir`). */
export function removeFilesCommand(dir: string, files: readonly string[]): string {
  return `cd ${shQuote(dir)} && rm -f -- ${files.map(shQuote).join(' ')}`;
}

/**
 * Makes `box` hold exactly archive `name` from `source`, its checksum (hard links: no copy) and,
 * with `latest`, that link pointing at it, so shipping `box` sends only the newest archive.
 */
export function outboxCommand(source: string, name: string, box: string, options: { latest?: string } = {}): string {
  const keep = [name, `${name}.sha256`, ...(options.latest === undefined ? [] : [options.latest])];
  return [
    'set -e',
    `install -d -m 700 ${shQuote(box)}`,
    `ln -f ${shQuote(`${source}/${name}`)} ${shQuote(`${box}/${name}`)}`,
    `ln -f ${shQuote(`${source}/${name}.sha256`)} ${shQuote(`${box}/${name}.sha256`)}`,
    ...(options.latest === undefined ? [] : [linkLatestCommand(box, name, options.latest)]),
    `find ${shQuote(box)} -mindepth 1 -maxdepth 1 ${keep.map((k) => `! -name ${shQuote(k)}`).join(' ')} -exec rm -rf -- {} +`,
  ].join('\n');
}

/** The first sha256 in a `.sha256` file, or null. */
export function parseChecksumFile(text: string): string | null {
  return /^([0-9a-fA-F]{64})\b/.exec(text.trim())?.[1]?.toLowerCase() ?? null;
}
