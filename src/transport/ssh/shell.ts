/**
 * POSIX sh text built by the ssh transport. Everything that crosses into a remote shell goes
 * through `shQuote`, so no value (command, env value, path) is ever parsed by the outer shell.
 */
import { PefError } from '../../errors/pef-error.js';
import { shQuote } from '../../util/shell-quote.js';

/** `export NAME='value'` statements for per-command env; names are checked, values quoted. */
export function envExports(env: Readonly<Record<string, string>> | undefined): string {
  if (env === undefined) return '';
  return Object.entries(env)
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new PefError(
          'pef/validation-error',
          `Environment variable name ${JSON.stringify(name)} is not valid in sh: use letters, digits and _ and do not start with a digit.`,
          { name },
        );
      }
      return `export ${name}=${shQuote(value)}`;
    })
    .join('; ');
}

/** Seconds for coreutils `timeout`, which accepts fractions. */
export function timeoutSeconds(ms: number): string {
  return (Math.max(ms, 1) / 1000).toFixed(3);
}

/** The seconds `timeout -k` waits after TERM before it sends KILL. */
export const KILL_AFTER_SECONDS = 2;

/** The inner part every transport-run command shares: home (or /) as cwd, env, then the command. */
export function commandScript(
  command: string,
  env: Readonly<Record<string, string>> | undefined,
  timeoutMs: number | undefined,
  shell = 'sh',
): string {
  const exports = envExports(env);
  const run = `${shQuote(shell)} -c ${shQuote(command)}`;
  // Without coreutils timeout the caller's own timer closes the channel instead.
  const exec =
    timeoutMs === undefined
      ? `exec ${run}`
      : `if command -v timeout >/dev/null 2>&1; then exec timeout -k ${KILL_AFTER_SECONDS} ${timeoutSeconds(timeoutMs)} ${run}; else exec ${run}; fi`;
  return `cd "$HOME" 2>/dev/null || cd /; ${exports === '' ? '' : `${exports}; `}${exec}`;
}

/**
 * Stops everything a persistent shell's running command started, from a second session: every
 * process in the shell's session (sshd starts each channel in its own) except the shell and its
 * ancestors (with `keepShell` false, the shell too) gets TERM, then, after `graceSeconds`, KILL,
 * until none is left. Reading /proc with
 * the `read` builtin costs no process per entry. The session, unlike a process tree, still holds
 * what was orphaned by a subshell that ended. Exit 0: none left; 3: no /proc; 4: some survived.
 */
export function sessionKillScript(shellPid: number, graceSeconds: number, keepShell = true): string {
  if (!Number.isInteger(shellPid) || shellPid <= 1) throw new PefError('pef/internal', `bad shell pid ${shellPid}`);
  return [
    `s=${shellPid}`,
    '{ read -r l < /proc/$s/stat; } 2>/dev/null || exit 3',
    `r=\${l##*) }; set -- $r; sid=$4; p=$2; keep="${keepShell ? ' $s ' : ' '}"`,
    // The shell's ancestors in its session: sudo, a login shell that did not exec.
    'while [ "$p" -gt 1 ]; do',
    '  { read -r l < /proc/$p/stat; } 2>/dev/null || break',
    '  r=${l##*) }; set -- $r; [ "$4" = "$sid" ] || break',
    '  keep="$keep$p "; p=$2',
    'done',
    'pef_list() {',
    '  for f in /proc/[0-9]*/stat; do',
    '    { read -r l < "$f"; } 2>/dev/null || continue',
    '    r=${l##*) }; set -- $r',
    '    [ "$4" = "$sid" ] && [ "$1" != Z ] || continue',
    '    p=${l%% *}',
    '    case $keep in *" $p "*) ;; *) printf "%s " "$p" ;; esac',
    '  done',
    '}',
    'pef_nap() { sleep 0.1 2>/dev/null || sleep 1; }',
    'pids=$(pef_list); [ -n "$pids" ] || exit 0',
    'kill -TERM $pids 2>/dev/null',
    `i=0; while [ $i -lt ${Math.max(0, Math.round(graceSeconds * 10))} ]; do pef_nap; pids=$(pef_list); [ -n "$pids" ] || exit 0; i=$((i + 1)); done`,
    'i=0; while [ $i -lt 50 ]; do kill -KILL $pids 2>/dev/null; pef_nap; pids=$(pef_list); [ -n "$pids" ] || exit 0; i=$((i + 1)); done',
    'exit 4',
  ].join('\n');
}
