/**
 * pef's own state directories on a host (locks, run state): root-owned, mode 0700, never a
 * symlink. They must not live in world-writable places such as /run/lock or /tmp, where any
 * local user could pre-create a name, hold a lock forever or choose what pef reads back.
 */
import { shQuote } from '../util/shell-quote.js';

/** Where pef keeps run-time state such as locks (tmpfs: gone after a reboot, like the holders). */
export const PEF_RUN_DIR = '/run/pef';

/**
 * Shell lines that make `dir` a root-owned 0700 directory, creating it (and only it: its parent
 * must exist) if absent. They print `error=<why>` and exit 1 when `dir` is a symlink, not a
 * directory, or not owned by root; nothing is changed then.
 */
export function ensureRootDirLines(dir: string): string[] {
  const d = shQuote(dir);
  return [
    `if [ ! -e ${d} ] && [ ! -L ${d} ]; then mkdir -m 700 ${d} 2>/dev/null || true; fi`,
    `if [ -L ${d} ]; then echo "error=${dir} is a symlink; pef refuses to use it (remove it: it is not pef's)"; exit 1; fi`,
    `if [ ! -d ${d} ]; then echo "error=${dir} is not a directory"; exit 1; fi`,
    `if [ "$(stat -c %u ${d})" != 0 ]; then echo "error=${dir} is not owned by root; pef refuses to use it (remove it, or chown root it after checking its contents)"; exit 1; fi`,
    `chmod 700 ${d}`,
  ];
}
