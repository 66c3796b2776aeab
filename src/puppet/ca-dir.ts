/**
 * Commands about a CA directory as a whole: a digest of its contents and modes (to tell whether a
 * copy is current), and installing a staged copy with an atomic-as-possible swap that a later run
 * can finish or undo if it was interrupted between its two renames.
 */
import { shQuote } from '../util/shell-quote.js';

/** Prints one sha256 over every file's mode, content hash and relative path; nothing if the dir is missing. */
export function caDigestCommand(dir: string): string {
  return (
    `[ -d ${shQuote(dir)} ] || exit 0; cd ${shQuote(dir)} && ` +
    `find . -type f ! -name '*.pef-tmp' -exec sh -c 'for f; do printf "%s %s %s\\n" "$(stat -c %a "$f")" "$(sha256sum < "$f" | cut -c1-64)" "$f"; done' _ {} + ` +
    `| LC_ALL=C sort | sha256sum | cut -c1-64`
  );
}

/** Names of the staging and previous copies next to the CA dir. */
export function swapPaths(cadir: string) {
  return { next: `${cadir}.pef-new`, previous: `${cadir}.pef-old` };
}

/**
 * Copies `staged` to `<cadir>.pef-new` with `owner`, checks its digest against `digest`, then
 * swaps it in: `cadir` → `.pef-old`, `.pef-new` → `cadir`, and removes `.pef-old` and the staged
 * copy. The first line repairs an earlier run that died between the two renames.
 */
export function installCaCommand(staged: string, cadir: string, owner: string, digest: string): string {
  const { next, previous } = swapPaths(cadir);
  const q = { staged: shQuote(staged), cadir: shQuote(cadir), next: shQuote(next), previous: shQuote(previous) };
  return [
    'set -e',
    // The staged copy holds a second ca_key.pem: it must not stay in the transfer user's dir,
    // whether the swap succeeds or is refused (the next sync sends it again).
    `trap 'rm -rf -- ${q.staged}' EXIT`,
    `if [ ! -e ${q.cadir} ] && [ -d ${q.previous} ]; then mv ${q.previous} ${q.cadir}; fi`,
    `rm -rf ${q.next}`,
    `mkdir -p "$(dirname ${q.cadir})"`,
    `cp -a ${q.staged} ${q.next}`,
    // The copy is root's now, so this check cannot race: a CA holds only files and directories,
    // and a link (which the digest, over regular files, would not see) is refused.
    `if [ -n "$(find ${q.next} ! -type f ! -type d -print -quit)" ]; then rm -rf ${q.next}; echo "staged CA copy holds something other than files and directories (a link?); refused" >&2; exit 3; fi`,
    `chown -R ${shQuote(owner)} ${q.next}`,
    `got=$(${caDigestCommand(next)})`,
    `if [ "$got" != ${shQuote(digest)} ]; then rm -rf ${q.next}; echo "staged CA copy does not match the primary (digest $got)" >&2; exit 3; fi`,
    `if [ -e ${q.cadir} ]; then mv ${q.cadir} ${q.previous}; fi`,
    `mv ${q.next} ${q.cadir}`,
    `rm -rf ${q.previous}`,
  ].join('\n');
}
