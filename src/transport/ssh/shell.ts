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
