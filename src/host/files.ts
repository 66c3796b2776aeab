/**
 * Writing whole files on hosts: the content travels on stdin (never in the command text, so it
 * never reaches a log), lands in a temp file beside the target, gets owner and mode, and is
 * renamed into place, so a reader sees the old file or the new one, never half of one.
 */
import { shQuote } from '../util/shell-quote.js';

/** Owner and mode of a file to write. */
export interface FileAttributes {
  mode: string;
  owner?: string;
  group?: string;
}

/** The command that writes its stdin to `path` atomically with the given attributes. */
export function writeFileCommand(path: string, attrs: FileAttributes): string {
  const tmp = `${path}.pef-tmp`;
  const chown =
    attrs.owner === undefined
      ? ''
      : ` && chown ${shQuote(`${attrs.owner}${attrs.group === undefined ? '' : `:${attrs.group}`}`)} ${shQuote(tmp)}`;
  return `umask 077 && cat > ${shQuote(tmp)}${chown} && chmod ${shQuote(attrs.mode)} ${shQuote(tmp)} && mv -f ${shQuote(tmp)} ${shQuote(path)}`;
}

/** A read command printing the file, or nothing if it does not exist (exit 0 either way). */
export function readFileCommand(path: string): string {
  return `cat ${shQuote(path)} 2>/dev/null || true`;
}

/** Prints the sha256 (hex) of a file's content, or nothing if it does not exist. Read-only. */
export function sha256Command(path: string): string {
  return `{ sha256sum < ${shQuote(path)}; } 2>/dev/null | cut -c1-64`;
}

/** Prints `owner:group mode` of a path, or nothing if it does not exist. */
export function statCommand(path: string): string {
  return `stat -c '%U:%G %a' ${shQuote(path)} 2>/dev/null || true`;
}
