/**
 * The fallback: one fresh exec channel per command (node-ssh `execCommand`), with the same
 * semantics as the persistent channel (home or / as cwd, per-command env, `timeout`, run-as
 * through sudo). Slower (a channel open per command) but needs nothing from the host's shell.
 * The caller bounds how many run at once, below sshd's MaxSessions. Each command first prints
 * its shell's pid behind a nonce on stderr (stripped from the output), so a cancelled command
 * is stopped on the host the way the persistent channel stops one (`sessionKillScript`).
 */
import { randomBytes } from 'node:crypto';
import type { NodeSSH } from 'node-ssh';
import { PefError } from '../../errors/pef-error.js';
import type { Target } from '../../inventory/target.js';
import { commandCancelledError, commandTimeoutError, describeTarget } from '../command-errors.js';
import { OutputCollector } from '../output-collector.js';
import type { CommandOutput } from '../transport.js';
import type { ChannelCommandOptions } from './command-channel.js';
import {
  escalationErrors,
  isPasswordRejected,
  parseProbeLine,
  sudoPrefix,
  sudoProbeScript,
  type Escalation,
} from './escalation.js';
import { MarkerScanner } from './marker-scanner.js';
import { commandScript, KILL_AFTER_SECONDS, sessionKillScript } from './shell.js';
import { shQuote } from '../../util/shell-quote.js';
import type { Ssh2Channel } from './ssh2-types.js';

/** What an ExecRunner needs. */
export interface ExecRunnerOptions {
  ssh: NodeSSH;
  target: Target;
  shell: string;
  escalation?: Escalation;
  /** The error to report when the connection itself has gone, if it has. */
  connectionError(): PefError | undefined;
}

const BACKSTOP_GRACE_MS = 3000;
// The stop of a cancelled command: TERM, KILL after the grace, and polling in between.
const STOP_LIMIT_MS = (KILL_AFTER_SECONDS + 10) * 1000;
const TIMEOUT_STATUSES: ReadonlySet<number> = new Set([124, 137, 143]);

/** Runs commands on fresh exec channels; see the file comment. */
export class ExecRunner {
  readonly #options: ExecRunnerOptions;
  readonly #active = new Set<{ fail(error: PefError): void }>();
  #sudo: Promise<boolean> | undefined;

  constructor(options: ExecRunnerOptions) {
    this.#options = options;
  }

  /** Runs one command on its own channel. */
  // One command's lifetime: its listeners, timers and the kill path share its state in this closure.
  async run(command: string, options: ChannelCommandOptions = {}): Promise<CommandOutput> {
    const { target, escalation, shell } = this.#options;
    const { signal } = options;
    if (signal?.aborted) throw commandCancelledError(target, command, false);
    const nonce = randomBytes(8).toString('hex');
    let script = `printf 'PEF-PID:%s:%s\\n' ${nonce} "$$" >&2; ${commandScript(command, options.env, options.timeoutMs, shell)}`;
    let stdin = options.stdin;
    if (escalation !== undefined) {
      this.#sudo ??= this.#probeSudo(escalation);
      const withPassword = await this.#sudo;
      script = `${sudoPrefix(escalation.runAs, withPassword)} ${shQuote(shell)} -c ${shQuote(script)}`;
      // sudo -S reads exactly one line, so the command's own stdin follows the password.
      if (withPassword && escalation.password !== undefined) stdin = `${escalation.password.unwrap()}\n${stdin ?? ''}`;
    }
    if (signal?.aborted) throw commandCancelledError(target, command, false);
    const started = performance.now();
    const out = new OutputCollector('stdout', options.onOutput);
    const err = new OutputCollector('stderr', options.onOutput);
    const pidLine = new MarkerScanner(`PEF-PID:${nonce}:`, err.push, true);
    return new Promise<CommandOutput>((resolve, reject) => {
      let channel: Ssh2Channel | undefined;
      let timedOut = false;
      let cancelled = false;
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const onAbort = (): void => {
        if (settled || cancelled) return;
        cancelled = true;
        const error = commandCancelledError(target, command, true);
        const pid = Number.parseInt(pidLine.status ?? '', 10);
        // Not started yet on the host: closing the channel is enough.
        if (!Number.isInteger(pid) || pid <= 1) return entry.fail(error);
        void this.run(sessionKillScript(pid, KILL_AFTER_SECONDS), { timeoutMs: STOP_LIMIT_MS })
          .then((r) => r.exitCode === 0)
          .catch(() => false)
          .then((clean) => {
            if (!clean) entry.fail(error);
            else timers.push(setTimeout(() => entry.fail(error), BACKSTOP_GRACE_MS));
          });
      };
      const entry = {
        fail: (error: PefError): void => {
          if (settled) return;
          settle();
          reject(error);
          channel?.close();
        },
      };
      const settle = (): void => {
        settled = true;
        for (const t of timers) clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        this.#active.delete(entry);
      };
      this.#active.add(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        const limit = options.timeoutMs;
        timers.push(
          setTimeout(() => (timedOut = true), limit),
          setTimeout(
            () => entry.fail(commandTimeoutError(target, command, limit)),
            limit + KILL_AFTER_SECONDS * 1000 + BACKSTOP_GRACE_MS,
          ),
        );
      }
      this.#options.ssh
        .execCommand(script, {
          ...(stdin === undefined ? {} : { stdin }),
          noTrim: true,
          onChannel: (c) => {
            channel = c as Ssh2Channel;
            channel.on('error', () => undefined);
          },
          onStdout: out.push,
          onStderr: (chunk: Buffer) => void pidLine.push(chunk),
        })
        .then(
          (response) => {
            if (settled) return;
            const lost = this.#options.connectionError();
            if (lost !== undefined) return entry.fail(lost);
            settle();
            if (cancelled) {
              reject(commandCancelledError(target, command, true));
            } else if (timedOut && response.code !== null && TIMEOUT_STATUSES.has(response.code)) {
              reject(commandTimeoutError(target, command, options.timeoutMs ?? 0));
            } else {
              resolve({
                stdout: out.text(),
                stderr: err.text(),
                exitCode: response.code,
                durationMs: performance.now() - started,
              });
            }
          },
          (error: unknown) => {
            entry.fail(
              this.#options.connectionError() ??
                new PefError(
                  'pef/command-failed',
                  `Cannot open an exec channel on ${describeTarget(target)}: ${(error as Error).message}`,
                  { target: target.name },
                  { cause: error },
                ),
            );
          },
        );
    });
  }

  /** Fails every running command with `error`. */
  abort(error: PefError): void {
    for (const entry of [...this.#active]) entry.fail(error);
  }

  // Whether sudo needs the password; checked once per connection, failures are cached too.
  async #probeSudo(escalation: Escalation): Promise<boolean> {
    const { ssh, target } = this.#options;
    const probe = await ssh.execCommand(sudoProbeScript(escalation.runAs), { noTrim: true });
    const result = probe.stdout
      .split('\n')
      .map(parseProbeLine)
      .find((p) => p !== undefined);
    if (result === undefined) throw escalationErrors.sudoFailed(target, escalation.runAs, probe.stderr);
    if (result.kind === 'nosudo') throw escalationErrors.noSudo(target, escalation.runAs);
    if (result.kind === 'ok') return false;
    if (escalation.password === undefined)
      throw escalationErrors.passwordMissing(target, escalation.runAs, result.message);
    const check = await ssh.execCommand(`${sudoPrefix(escalation.runAs, true)} true`, {
      stdin: `${escalation.password.unwrap()}\n`,
      noTrim: true,
    });
    if (check.code === 0) return true;
    if (isPasswordRejected(check.stderr)) throw escalationErrors.passwordRejected(target, escalation.runAs);
    throw escalationErrors.sudoFailed(target, escalation.runAs, check.stderr);
  }
}
