/**
 * Commands about a CA directory as a whole: a digest of its contents and modes (to tell whether a
 * copy is current), and installing a staged copy with an atomic-as-possible swap that a later run
 * can finish or undo if it was interrupted between its two renames.
 */
import { shQuote } from '../util/shell-quote.js';

/**
 * Prints one sha256 over every file's mode, content hash and relative path (one `MODE HASH ./PATH`
 * line per file, sorted); nothing if the dir is missing. Batched (one find for the modes, one
 * sha256sum per thousands of files) so a 10 000-certificate CA takes a fraction of a second.
 */
export function caDigestCommand(dir: string): string {
  const files = `find . -type f ! -name '*.pef-tmp'`;
  return (
    `[ -d ${shQuote(dir)} ] || exit 0; cd ${shQuote(dir)} && ` +
    `{ ${files} -printf 'm %m %p\\n'; ${files} -exec sha256sum {} + | sed 's/^/h /'; } | ` +
    `awk '/^m /{p=$0; sub(/^m [0-7]+ /,"",p); m[p]=$2} /^h /{p=$0; sub(/^h [0-9a-f]+  /,"",p); h[p]=$2} END{for (p in m) print m[p], h[p], p}' ` +
    `| LC_ALL=C sort | sha256sum | cut -c1-64`
  );
}

/**
 * Names of the copies next to the CA dir: the one being built, the one being swapped out, and
 * (incremental installs only) the generation kept to build the next one from.
 */
export function swapPaths(cadir: string) {
  return { next: `${cadir}.pef-new`, previous: `${cadir}.pef-old`, base: `${cadir}.pef-base` };
}

/** How installCaCommand treats the staged copy. */
export interface InstallCaOptions {
  /**
   * Continuous replication (src/replication/ca-job.ts): the staged copy stays for the next pass's
   * rsync deltas and holds no ca_key.pem (the key never changes after setup; only sync_ca sends
   * it); the key is taken from the current cadir, so the digest is still over the full CA.
   * The CA swapped out is kept as `<cadir>.pef-base` (same owner and modes as the cadir) and the
   * next install is built from it with rsync, writing only what changed, instead of copying every
   * certificate again; a base that does not end up matching the digest is dropped for a full copy.
   */
  incremental?: boolean;
}

/**
 * Copies `staged` to `<cadir>.pef-new` with `owner`, checks its digest against `digest`, then
 * swaps it in: `cadir` → `.pef-old`, `.pef-new` → `cadir`, and removes `.pef-old` (incremental:
 * keeps it as the next base; a full install removes any base) and (unless incremental) the staged copy. The first line repairs an
 * earlier run that died between the two renames.
 */
export function installCaCommand(
  staged: string,
  cadir: string,
  owner: string,
  digest: string,
  options: InstallCaOptions = {},
): string {
  const { next, previous, base } = swapPaths(cadir);
  const q = {
    staged: shQuote(staged),
    cadir: shQuote(cadir),
    next: shQuote(next),
    previous: shQuote(previous),
    base: shQuote(base),
  };
  const key = {
    staged: shQuote(`${staged}/ca_key.pem`),
    cadir: shQuote(`${cadir}/ca_key.pem`),
    next: shQuote(`${next}/ca_key.pem`),
  };
  return [
    'set -e',
    // The staged copy holds a second ca_key.pem: it must not stay in the transfer user's dir,
    // whether the swap succeeds or is refused (the next sync sends it again). An incremental
    // copy holds no key and stays, so the next pass moves only what changed.
    ...(options.incremental ? [] : [`trap 'rm -rf -- ${q.staged}' EXIT`]),
    `if [ ! -e ${q.cadir} ] && [ -d ${q.previous} ]; then mv ${q.previous} ${q.cadir}; fi`,
    ...(options.incremental
      ? [
          `if [ -e ${key.staged} ] || [ -L ${key.staged} ]; then rm -f ${key.staged}; echo "the staged CA copy held a ca_key.pem; removed, not used" >&2; exit 3; fi`,
          `if [ ! -f ${key.cadir} ] || [ -L ${key.cadir} ]; then echo "${cadir} has no ca_key.pem to keep: run the sync_ca task once" >&2; exit 3; fi`,
        ]
      : []),
    `mkdir -p "$(dirname ${q.cadir})"`,
    // build full|delta: .pef-new as a copy of the staged CA, or (delta) the kept base brought up to it.
    'build() {',
    `  rm -rf ${q.next}`,
    `  if [ "$1" = delta ]; then mv ${q.base} ${q.next}; rsync -rlpt --delete --exclude=/ca_key.pem ${q.staged}/ ${q.next}/; else cp -a ${q.staged} ${q.next}; fi`,
    ...(options.incremental ? [`  cp -a ${key.cadir} ${key.next}`] : []),
    // The copy is root's now, so this check cannot race: a CA holds only files and directories,
    // and a link (which the digest, over regular files, would not see) is refused.
    `  if [ -n "$(find ${q.next} ! -type f ! -type d -print -quit)" ]; then rm -rf ${q.next}; echo "staged CA copy holds something other than files and directories (a link?); refused" >&2; exit 3; fi`,
    `  chown -R ${shQuote(owner)} ${q.next}`,
    `  got=$(${caDigestCommand(next)})`,
    '}',
    // Called in if-bodies, not after || or &&, where sh would ignore set -e inside the function.
    "got=''",
    ...(options.incremental ? [`if [ -d ${q.base} ] && [ ! -L ${q.base} ]; then build delta; fi`] : []),
    `if [ "$got" != ${shQuote(digest)} ]; then build full; fi`,
    `if [ "$got" != ${shQuote(digest)} ]; then rm -rf ${q.next}; echo "staged CA copy does not match the primary (digest $got)" >&2; exit 3; fi`,
    `if [ -e ${q.cadir} ]; then mv ${q.cadir} ${q.previous}; fi`,
    `mv ${q.next} ${q.cadir}`,
    // A full install leaves no base: what an earlier incremental one kept is older than this CA.
    options.incremental
      ? `rm -rf ${q.base}; mv ${q.previous} ${q.base} 2>/dev/null || true`
      : `rm -rf ${q.previous} ${q.base}`,
  ].join('\n');
}
