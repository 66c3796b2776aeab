/**
 * Files on hosts, written the one root-safe way. pef runs as root, often in directories a service
 * account owns (the cadir is puppet's, dump dirs are postgres's); a compromised service account
 * could plant a symlink where root is about to write or `chown`, and get a root-owned file of its
 * choice overwritten and handed to itself. So every write:
 *
 * - enters the target directory by its physical path (`cd -P`, then `pwd -P` must equal the path:
 *   a symlink anywhere in the directory's path is refused), and from then on works relative to
 *   that directory, so a later swap of a path component changes nothing;
 * - refuses a target that is a symbolic link, or exists and is not a regular file, naming the fix;
 * - creates a root-only (0700) stage with `mktemp -d` inside the target directory (same
 *   filesystem, so the rename is atomic), checks it is its own, and writes, `chown -h`s and
 *   `chmod`s the file there, where no one else can touch it;
 * - renames the finished file onto the target (`mv -fT`: a rename replaces a symlink planted
 *   meanwhile, never follows it) and removes the empty stage.
 *
 * The content travels on stdin (never in the command text, so it never reaches a log), and a
 * reader sees the old file or the new one, never half of one. If the owner of the directory moves
 * the stage away mid-write, the file lands in the directory it was moved to, which that account
 * already controls: nothing outside its reach is written.
 */
import { posix } from 'node:path';
import { PefError } from '../errors/pef-error.js';
import { shQuote } from '../util/shell-quote.js';

/** Owner and mode of a file to write (owner/group unset: root's). */
export interface FileAttributes {
  mode: string;
  owner?: string;
  group?: string;
}

/** Where a written file's content comes from. */
export interface WriteFileOptions {
  /**
   * `stdin` (default): the bytes on stdin; `base64`: stdin is base64, decoded; `existing`: the
   * target's own current content (read without following a symlink), to give it new attributes.
   */
  content?: 'stdin' | 'base64' | 'existing';
}

/**
 * The command that writes a file at `path` root-safely (see the file comment) with `attrs`, or
 * with `'keep'` the owner, group and mode of the existing target. Exits non-zero with a
 * `pef: refusing to write <path>: …` line on stderr when it refuses.
 */
export function writeFileCommand(path: string, attrs: FileAttributes | 'keep', options: WriteFileOptions = {}): string {
  const { dir, name } = splitTarget(path);
  const content = options.content ?? 'stdin';
  const fill =
    content === 'existing'
      ? 'dd if="../$n" of=f.pef-tmp iflag=nofollow status=none || exit 1'
      : `${content === 'base64' ? 'base64 -d' : 'cat'} > f.pef-tmp || exit 1`;
  const attributes =
    attrs === 'keep'
      ? [
          // The target's own attributes, read without following a symlink (and refused if it is one now).
          `[ -f "../$n" ] && [ ! -L "../$n" ] || die "it does not exist, so there are no attributes to keep"`,
          'a=$(stat -c %u:%g -- "../$n") && m=$(stat -c %a -- "../$n") || exit 1',
          'chown -h "$a" f.pef-tmp && chmod "$m" f.pef-tmp || exit 1',
        ]
      : [
          ...(attrs.owner === undefined
            ? []
            : [`chown -h ${shQuote(ownerSpec(attrs.owner, attrs.group))} f.pef-tmp || exit 1`]),
          `chmod ${shQuote(checkMode(attrs.mode))} f.pef-tmp || exit 1`,
        ];
  return [
    '(',
    ...enterDirectory(dir, name, path),
    `[ ! -e "$n" ] || [ -f "$n" ] || die "it exists and is not a regular file; move it away and run again"`,
    's=$(mktemp -d .pef-write.XXXXXX) || die "could not create a temp dir in $d"',
    // Ours, a real directory, 0700: nothing but root can place a file or a link in it.
    `cd -P -- "$s" 2>/dev/null && [ "$(pwd -P)" = "\${d%/}/$s" ] && [ "$(stat -c %u:%a .)" = "$(id -u):700" ] || { rmdir -- "$s" 2>/dev/null; die "its temp dir $d/$s was replaced while in use"; }`,
    `trap 'rm -f f.pef-tmp; cd .. && rmdir -- "$s" 2>/dev/null' EXIT`,
    fill,
    ...attributes,
    'mv -fT f.pef-tmp "../$n" || exit 1',
    ')',
  ].join('\n');
}

/**
 * The command that appends `line` (one line, no newline in it) to the existing regular file
 * `path` without following a symlink (`dd oflag=append,nofollow`: one O_APPEND write, so
 * concurrent appenders such as Puppet Server's CA are not lost). Refuses like writeFileCommand.
 */
export function appendLineCommand(path: string, line: string): string {
  if (/[\n\r\0]/.test(line))
    throw new PefError('pef/internal', `appendLineCommand: a line for ${path} contains a line break`, { path });
  const { dir, name } = splitTarget(path);
  return [
    '(',
    ...enterDirectory(dir, name, path),
    `[ -f "$n" ] || die "it does not exist or is not a regular file"`,
    `printf '%s\\n' ${shQuote(line)} | dd of="$n" oflag=append,nofollow conv=notrunc status=none`,
    ')',
  ].join('\n');
}

/**
 * The command that creates directory `path` (its parent must exist) with `attrs` unless it is
 * already a directory; a symlink or another file there is refused. `mkdir -m` sets the mode at
 * creation and `chown -h` never follows a link swapped in meanwhile.
 */
export function makeDirCommand(path: string, attrs: FileAttributes): string {
  const { dir, name } = splitTarget(path);
  return [
    '(',
    ...enterDirectory(dir, name, path),
    `if [ -d "$n" ]; then exit 0; fi`,
    `[ ! -e "$n" ] || die "it exists and is not a directory; move it away and run again"`,
    `umask 022 && mkdir -m ${shQuote(checkMode(attrs.mode))} -- "$n" || exit 1`,
    ...(attrs.owner === undefined
      ? []
      : [`chown -h ${shQuote(ownerSpec(attrs.owner, attrs.group))} -- "$n" || exit 1`]),
    ')',
  ].join('\n');
}

/** A read command printing the file, or nothing if it does not exist (exit 0 either way). */
export function readFileCommand(path: string): string {
  return `cat ${shQuote(path)} 2>/dev/null || true`;
}

/**
 * Prints a regular file that must exist, without following a symlink: for files in a directory a
 * service account owns (the CA's serial), where a planted link could otherwise make root read,
 * and quote in an error, a file of the account's choice. A link or a non-regular file is refused
 * (exit 1, `pef: refusing to read <path>: …`).
 */
export function readRegularFileCommand(path: string): string {
  const p = shQuote(path);
  return `if [ -L ${p} ] || [ ! -f ${p} ]; then echo "pef: refusing to read "${p}": it is a symbolic link or not a regular file; put the real file back" >&2; exit 1; fi; dd if=${p} iflag=nofollow status=none`;
}

/** Prints the sha256 (hex) of a file's content, or nothing if it does not exist. Read-only. */
export function sha256Command(path: string): string {
  return `{ sha256sum < ${shQuote(path)}; } 2>/dev/null | cut -c1-64`;
}

/** Prints `owner:group mode` of a path, or nothing if it does not exist. */
export function statCommand(path: string): string {
  return `stat -c '%U:%G %a' ${shQuote(path)} 2>/dev/null || true`;
}

// Shared opening: `d`, `n`, `p`, `die`, umask 077, into the directory by its physical path, and
// the target must not be a symlink.
function enterDirectory(dir: string, name: string, path: string): string[] {
  return [
    'umask 077',
    `d=${shQuote(dir)}; n=${shQuote(name)}; p=${shQuote(path)}`,
    `die() { printf 'pef: refusing to write %s: %s\\n' "$p" "$1" >&2; exit 1; }`,
    `cd -P -- "$d" 2>/dev/null || die "$d is not a directory (create it first)"`,
    `[ "$(pwd -P)" = "$d" ] || die "$d resolves to $(pwd -P) (a symbolic link in the path); use the real path"`,
    `[ ! -L "$n" ] || die "it is a symbolic link (to $(readlink -- "$n")); find out who planted it, remove it (rm -- $p) and run again"`,
  ];
}

// An absolute, normalized path to a file: its directory and name.
function splitTarget(path: string): { dir: string; name: string } {
  if (!path.startsWith('/') || posix.normalize(path) !== path || path.endsWith('/') || /[\n\r\0]/.test(path)) {
    throw new PefError('pef/internal', `Not an absolute, normalized file path: ${JSON.stringify(path)}`, { path });
  }
  return { dir: posix.dirname(path), name: posix.basename(path) };
}

function ownerSpec(owner: string, group: string | undefined): string {
  const spec = group === undefined ? owner : `${owner}:${group}`;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?(:[A-Za-z0-9_][A-Za-z0-9_.-]*\$?)?$/.test(spec)) {
    throw new PefError('pef/internal', `Not an owner[:group]: ${JSON.stringify(spec)}`, { owner: spec });
  }
  return spec;
}

function checkMode(mode: string): string {
  if (!/^[0-7]{3,4}$/.test(mode))
    throw new PefError('pef/internal', `Not an octal file mode: ${JSON.stringify(mode)}`, { mode });
  return mode;
}
