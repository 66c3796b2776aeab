/**
 * The text the command channel writes to its remote shell: the start-up ready probe, the loop
 * that runs the commands, and what it reads for each command. Separate from command-channel.ts,
 * which keeps the channel's state and timing; see its file comment for the protocol.
 */
import { PefError } from '../../errors/pef-error.js';
import { shQuote } from '../../util/shell-quote.js';
import type { ChannelCommandOptions } from './command-channel.js';
import { envExports } from './shell.js';

// A one-line command longer than this goes through a script shell: the subshell reads its line
// with the `read` builtin, one byte per read(2) (it must not take bytes that are not its own).
const INLINE_MAX_BYTES = 1024;

/** The marker that ends command `seq` on both streams: `PEF-END:<key>:<seq>:` then the status. */
export function endMarker(key: string, seq: number): string {
  return `PEF-END:${key}:${seq}:`;
}

// The line that starts a script shell instead of an inline command (see commandInput).
const SCRIPT_LINE = 'pef_script';

/**
 * What the waiting subshell reads for one command. A short one-line command without stdin is
 * the line itself (behind its `export`s, if any): the subshell reads it with the `read` builtin,
 * one byte per read(2), so every byte saved is a syscall saved. Anything else is the line
 * `pef_script`, then a script that a fresh shell (exec'd by the subshell, so no extra fork)
 * reads up to its `exit`, with stdin as a base64 heredoc.
 */
export function commandInput(command: string, options: ChannelCommandOptions): string {
  const exports = envExports(options.env);
  const line = `${exports === '' ? command : `${exports}; eval ${shQuote(command)}`}\n`;
  if (
    options.stdin === undefined &&
    command !== SCRIPT_LINE &&
    line.indexOf('\n') === line.length - 1 &&
    Buffer.byteLength(line) <= INLINE_MAX_BYTES
  )
    return line;
  const head = exports === '' ? '' : `${exports}\n`;
  if (options.stdin === undefined) return `${SCRIPT_LINE}\n${head}{ eval ${shQuote(command)}; } </dev/null\nexit\n`;
  // base64 keeps any bytes intact and can never contain the heredoc's end word.
  const base64 = Buffer.from(options.stdin, 'utf8').toString('base64');
  const lines = base64.replace(/(.{76})/g, '$1\n').replace(/\n$/, '');
  const end = 'PEF_STDIN_END';
  return `${SCRIPT_LINE}\n${head}base64 -d <<'${end}' | { eval ${shQuote(command)}; }\n${lines}${lines === '' ? '' : '\n'}${end}\nexit\n`;
}

/**
 * The loop, written once after start. It `cd`s to home (or /) once: every subshell starts there,
 * and no command's `cd` reaches the loop. Each turn prints the end marker of the previous command
 * (sequence 0 at start: the loop is ready) on stdout and stderr, then forks the subshell for the
 * next command at once, so the fork happens while the controller is still reading the marker:
 * the subshell waits in `read` for its line, takes stdin from /dev/null (unless the line starts a
 * script shell) and `eval`s it; its cwd, variables, umask, traps, `set` options and `exit` end
 * with it. The key is part of the loop's text, in no variable, so a command cannot print a
 * marker. When the channel's input ends, the waiting subshell ends the loop's shell too.
 */
export function loopScript(key: string, shell: string): string {
  if (!/^[0-9a-f]+$/.test(key)) throw new PefError('pef/internal', 'the end-marker key must be hex');
  const marker = `printf 'PEF-END:${key}:%s:%s\\n' "$pef_q" "$pef_st"`;
  return [
    // The script's shell reads its input only up to `exit`: nothing else is written before the marker.
    `${SCRIPT_LINE}() { exec ${shQuote(shell)}; }`,
    'cd "$HOME" 2>/dev/null || cd /',
    'pef_q=0; pef_st=0',
    'while :; do',
    `  ${marker}`,
    `  ${marker} >&2`,
    '  pef_q=$((pef_q + 1))',
    `  ( IFS= read -r pef_l || { kill -KILL $$; exit 0; }; case $pef_l in ${SCRIPT_LINE}) ;; *) exec </dev/null ;; esac; eval "$pef_l" )`,
    '  pef_st=$?',
    'done',
    '',
  ].join('\n');
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
