/**
 * The text the command channel writes to its remote shell: the `pef_run` preamble, the one line
 * per command (with its stdin heredoc) and the start-up ready probe. Separate from
 * command-channel.ts, which keeps the channel's state and timing; see its file comment for the
 * protocol these implement.
 */
import { shQuote } from '../../util/shell-quote.js';
import type { ChannelCommandOptions } from './command-channel.js';
import { envExports } from './shell.js';

/** The one call the shell reads for a command (plus the stdin heredoc, when there is stdin). */
export function commandLine(nonce: string, command: string, options: ChannelCommandOptions): string {
  const call = `pef_run ${nonce} ${options.stdin === undefined ? 'n' : 'b'} ${shQuote(envExports(options.env))} ${shQuote(command)}`;
  if (options.stdin === undefined) return `${call}\n`;
  // base64 keeps any bytes intact and can never contain the heredoc's end word.
  const base64 = Buffer.from(options.stdin, 'utf8').toString('base64');
  const lines = base64.replace(/(.{76})/g, '$1\n').replace(/\n$/, '');
  const end = `PEF_IN_${nonce}`;
  return `${call} <<'${end}'\n${lines}${lines === '' ? '' : '\n'}${end}\n`;
}

// `set --` leaves the command no positional parameters; with stdin, the command reads the
// decoded heredoc through a pipe.
/** Defines `pef_run NONCE STDIN(n|b) ENV COMMAND`, written once after start (see command-channel.ts). */
export const PREAMBLE = [
  'pef_run() {',
  '  (',
  '    cd "$HOME" 2>/dev/null || cd /',
  '    eval "$3"',
  '    pef_cmd=$4',
  '    if [ "$2" = b ]; then set --; base64 -d | { eval "$pef_cmd"; }; else exec </dev/null; set --; eval "$pef_cmd"; fi',
  '  )',
  '  pef_st=$?',
  `  printf 'PEF-END:%s:%s\\n' "$1" "$pef_st"`,
  `  printf 'PEF-END:%s:%s\\n' "$1" "$pef_st" >&2`,
  '}',
  '',
].join('\n');

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
