/**
 * The text the command channel writes to its remote shell: the start-up ready probe, the start
 * line, and what the shell reads for each command. Separate from command-channel.ts, which keeps
 * the channel's state and timing; see its file comment for the protocol.
 */
import { PefError } from '../../errors/pef-error.js';
import { shQuote } from '../../util/shell-quote.js';
import type { ChannelCommandOptions } from './command-channel.js';
import { envExports } from './shell.js';

/** The marker that ends command `seq` on both streams: `PEF-END:<key>:<seq>:` then the status. */
export function endMarker(key: string, seq: number): string {
  return `PEF-END:${key}:${seq}:`;
}

// Prints command `seq`'s end marker, with the status in `$pef_st`, on stdout and on stderr. The
// key is literal text in the line the shell parses, in no variable, so no command can print it.
function markers(key: string, seq: number): string {
  if (!/^[0-9a-f]+$/.test(key)) throw new PefError('pef/internal', 'the end-marker key must be hex');
  const marker = `printf '${endMarker(key, seq)}%s\\n' "$pef_st"`;
  return `${marker}; ${marker} >&2`;
}

/**
 * Written once after start: `cd`s to home (or /), so every command starts there and no
 * command's `cd` reaches the next one, then prints the markers of sequence 0 (ready).
 */
export function startScript(key: string): string {
  return `cd "$HOME" 2>/dev/null || cd /; pef_st=0; ${markers(key, 0)}\n`;
}

/**
 * What the shell reads for command `seq`: the command in a subshell, then its end markers. The
 * shell parses the whole text before it runs any of it (its own buffered read, not a `read`
 * builtin per byte), forks the subshell — the one fork a command costs, nothing exec'd — and
 * prints the markers once the subshell has ended. In the subshell stdin comes from /dev/null,
 * or from the base64 heredoc when there is stdin; the command is one quoted word for `eval`, so
 * whatever it contains (quotes, newlines, a syntax error) stays inside the subshell. Its cwd,
 * variables, umask, traps, `set` options and `exit` end with the subshell.
 */
export function commandInput(key: string, seq: number, command: string, options: ChannelCommandOptions): string {
  const exports = envExports(options.env);
  const head = exports === '' ? '' : `${exports}; `;
  const end = `); pef_st=$?; ${markers(key, seq)}\n`;
  if (options.stdin === undefined) return `( exec </dev/null; ${head}eval ${shQuote(command)} ${end}`;
  // base64 keeps any bytes intact and can never contain the heredoc's end word.
  const base64 = Buffer.from(options.stdin, 'utf8').toString('base64');
  const lines = base64.replace(/(.{76})/g, '$1\n').replace(/\n$/, '');
  const word = 'PEF_STDIN_END';
  return `( ${head}base64 -d <<'${word}' | { eval ${shQuote(command)}; }\n${lines}${lines === '' ? '' : '\n'}${word}\n${end}`;
}

/** Prints `PEF-READY:<nonce>:<capabilities>:<shell pid>` on stdout and `PEF-READY:<nonce>:` on stderr. */
export function readyScript(nonce: string): string {
  return [
    'pef_c=',
    'command -v base64 >/dev/null 2>&1 && pef_c=b',
    // $$ is the shell that will run the commands: after sudo, the inner sh that execs the shell.
    `printf 'PEF-READY:%s:%s:%s\\n' ${nonce} "$pef_c" "$$"`,
    `printf 'PEF-READY:%s:\\n' ${nonce} >&2`,
  ].join('; ');
}
