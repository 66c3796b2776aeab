/**
 * Run-as through sudo. A probe (`sudo -k -n true`: ignoring cached credentials) first tells
 * whether sudo needs a password, so the password is only ever written when sudo is about to read it (`-S`, empty prompt), never
 * into a shell that would execute it. The password comes from the inventory's
 * `sudo-password`; it is written to the channel's stdin and never appears in a message.
 */
import { PefError } from '../../errors/pef-error.js';
import type { Target } from '../../inventory/target.js';
import { redact, type Sensitive } from '../../util/sensitive.js';
import { shQuote } from '../../util/shell-quote.js';

/** Who to become on a target, when that differs from the login user. */
export interface Escalation {
  runAs: string;
  password?: Sensitive;
}

/** The escalation a target needs, or undefined when commands run as the login user. */
export function escalationFor(target: Target): Escalation | undefined {
  const { runAs, user, sudoPassword } = target.config.ssh;
  if (runAs === undefined || runAs === '' || runAs === user) return undefined;
  return { runAs, ...(sudoPassword === undefined ? {} : { password: sudoPassword }) };
}

/** The line prefix the probe reports with. */
export const PROBE_PREFIX = 'PEF-ESC:';

/** What the probe found. */
export type ProbeResult = { kind: 'ok' } | { kind: 'password'; message: string } | { kind: 'nosudo' };

/**
 * Shell text that prints one `PEF-ESC:` line (ok, password:<sudo's message>, or nosudo) and
 * then runs `onOk` or `onPassword`, if given, in the same shell.
 */
export function sudoProbeScript(runAs: string, onOk = '', onPassword = ''): string {
  const then = (action: string): string => (action === '' ? '' : `; ${action}`);
  return [
    `if ! command -v sudo >/dev/null 2>&1; then echo '${PROBE_PREFIX}nosudo'`,
    `elif pef_err=$(sudo -k -n -H -u ${shQuote(runAs)} -- true 2>&1 </dev/null); then echo '${PROBE_PREFIX}ok'${then(onOk)}`,
    `else printf '${PROBE_PREFIX}password:%s\\n' "$(printf '%s' "$pef_err" | tr '\\n' ' ')"${then(onPassword)}; fi`,
  ].join('; ');
}

/** Parses a probe line; undefined when the line is not one. */
export function parseProbeLine(line: string): ProbeResult | undefined {
  if (!line.startsWith(PROBE_PREFIX)) return undefined;
  const rest = line.slice(PROBE_PREFIX.length);
  if (rest === 'ok') return { kind: 'ok' };
  if (rest === 'nosudo') return { kind: 'nosudo' };
  if (rest.startsWith('password:')) return { kind: 'password', message: rest.slice('password:'.length).trim() };
  return undefined;
}

/**
 * The sudo words before a command: non-interactive, or reading the password from stdin.
 * `-k` ignores cached credentials, so sudo asks for the password exactly when the probe said it
 * would: a cached credential must never leave the password line unread, for the command to read.
 */
export function sudoPrefix(runAs: string, withPassword: boolean): string {
  return withPassword ? `sudo -k -S -p '' -H -u ${shQuote(runAs)} --` : `sudo -n -H -u ${shQuote(runAs)} --`;
}

/** Whether sudo's stderr says the password was wrong. */
export function isPasswordRejected(stderr: string): boolean {
  return /Sorry, try again|incorrect password attempt/i.test(stderr);
}

/** Errors of escalation, all `pef/escalation-failed`, each naming what to change. */
export const escalationErrors = {
  noSudo(target: Target, runAs: string): PefError {
    const { host, user } = target.config.ssh;
    return new PefError(
      'pef/escalation-failed',
      `Cannot run as ${runAs} on ${target.name} (${host}): sudo is not installed there. Install sudo, or remove run-as for this target.`,
      { host, user, runAs },
    );
  },
  passwordMissing(target: Target, runAs: string, sudoMessage: string): PefError {
    const { host, user } = target.config.ssh;
    return new PefError(
      'pef/escalation-failed',
      `sudo on ${target.name} (${host}) needs a password for ${user} to run as ${runAs}, and the inventory has none: set config.ssh.sudo-password for ${target.name} ` +
        `(e.g. with the prompt or env_var plugin), or allow ${user} to use sudo without a password.${sudoMessage === '' ? '' : ` sudo said: ${redact(sudoMessage)}`}`,
      { host, user, runAs },
    );
  },
  passwordRejected(target: Target, runAs: string): PefError {
    const { host, user } = target.config.ssh;
    return new PefError(
      'pef/escalation-failed',
      `sudo on ${target.name} (${host}) rejected the sudo-password for ${user} (to run as ${runAs}): check config.ssh.sudo-password in the inventory.`,
      { host, user, runAs },
    );
  },
  sudoFailed(target: Target, runAs: string, stderr: string): PefError {
    const { host, user } = target.config.ssh;
    const said = redact(stderr.trim()).slice(0, 500);
    return new PefError(
      'pef/escalation-failed',
      `sudo on ${target.name} (${host}) did not let ${user} run a shell as ${runAs}${said === '' ? '' : `: ${said}`}. Check the sudoers rules for ${user} there.`,
      { host, user, runAs },
    );
  },
};
