/**
 * The persistent command channel: one exec channel running a POSIX shell (already escalated
 * through sudo when the target has a run-as user) that is fed command after command.
 *
 * Protocol: after start the controller writes a start line (`startScript`) that `cd`s home once.
 * Per command it writes one piece of shell text (`commandInput`): the command as one quoted word
 * for `eval` in a subshell with stdin from /dev/null (or a base64 heredoc), then
 * `PEF-END:<key>:<seq>:<status>` on stdout *and* stderr. The shell parses all of it with its own
 * buffered read, forks the subshell — one fork, nothing exec'd — and prints the markers when the
 * subshell has ended; once both markers are in, both streams are complete. The command's cwd,
 * variables, umask, traps, `set` options and `exit` end with its subshell. The key is random per
 * channel and only in the text the shell parses, never in a variable, and `seq` counts the
 * commands, so neither command output nor an old marker can pass for the end. The caller runs
 * one command at a time, and the controller writes the next command only after both markers.
 * When the channel's input ends, the shell ends.
 *
 * Time limits cost nothing per command: the controller's timer (or the caller's AbortSignal)
 * asks the connection to stop the command from a second, short-lived session (`stopCommand`,
 * see `sessionKillScript`), which ends every process of this shell's session, the shell
 * included (a stop leaves no shell whose state after the kill would need checking). The channel is
 * then dropped once the stop is over; the connection opens a new one for the next command.
 */
import { randomBytes } from 'node:crypto';
import { PefError } from '../../errors/pef-error.js';
import type { Target } from '../../inventory/target.js';
import { redact } from '../../util/sensitive.js';
import {
  commandCancelledError,
  commandTimeoutError,
  connectionClosedError,
  describeTarget,
} from '../command-errors.js';
import { OutputCollector } from '../output-collector.js';
import type { CommandOptions, CommandOutput } from '../transport.js';
import {
  escalationErrors,
  isPasswordRejected,
  parseProbeLine,
  PROBE_PREFIX,
  sudoPrefix,
  sudoProbeScript,
  type Escalation,
} from './escalation.js';
import { commandInput, endMarker, readyScript, startScript } from './channel-script.js';
import { MarkerScanner } from './marker-scanner.js';
import { shQuote } from '../../util/shell-quote.js';
import type { Ssh2Channel, Ssh2Client } from './ssh2-types.js';

/** How to start a command channel. */
export interface CommandChannelOptions {
  client: Ssh2Client;
  target: Target;
  /** The remote shell to run (default `sh`). */
  shell: string;
  escalation?: Escalation;
  /** How long the shell (and sudo) may take to be ready. */
  startTimeoutMs: number;
  /**
   * Stops the shell with pid `shellPid` and its running command (TERM, then KILL after a
   * grace) from outside the channel; resolves true once nothing of them is left.
   */
  stopCommand(shellPid: number): Promise<boolean>;
}

interface Running {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  fail(error: PefError): void;
}

/** What `run` needs beyond CommandOptions: the limit already resolved (undefined: none). */
export type ChannelCommandOptions = Omit<CommandOptions, 'timeoutMs'> & { timeoutMs?: number | undefined };

/** One persistent remote shell; see the file comment. */
export class CommandChannel {
  readonly #channel: Ssh2Channel;
  readonly #options: CommandChannelOptions;
  readonly #canBase64: boolean;
  readonly #shellPid: number | undefined;
  readonly #key = randomBytes(NONCE_BYTES).toString('hex');
  // The sequence number of the last command written (0: the start line).
  #seq = 0;
  #running: Running | undefined;
  #alive = true;

  private constructor(channel: Ssh2Channel, options: CommandChannelOptions, ready: string) {
    this.#channel = channel;
    this.#options = options;
    const [capabilities = '', pid = ''] = ready.split(':');
    this.#canBase64 = capabilities.includes('b');
    const shellPid = Number.parseInt(pid, 10);
    this.#shellPid = Number.isInteger(shellPid) && shellPid > 1 ? shellPid : undefined;
    channel.on('data', (chunk: Buffer) => this.#running?.stdout(chunk));
    channel.stderr.on('data', (chunk: Buffer) => this.#running?.stderr(chunk));
    channel.on('close', () => {
      this.#alive = false;
      this.#running?.fail(
        new PefError(
          'pef/command-failed',
          `The command shell on ${describeTarget(options.target)} ended while a command was running; the next command starts a new one.`,
          {
            host: options.target.config.ssh.host,
          },
        ),
      );
    });
  }

  /** Starts the shell (and sudo), writes the start line, waits until it is ready. */
  static async open(options: CommandChannelOptions): Promise<CommandChannel> {
    const channel = await openExec(options.client, options.shell, options.target);
    const ready = await bootstrap(channel, options);
    const shell = new CommandChannel(channel, options, ready);
    await shell.#start();
    return shell;
  }

  // Writes the start line and waits for its markers (sequence 0).
  #start(): Promise<void> {
    const { target, startTimeoutMs } = this.#options;
    return new Promise<void>((resolve, reject) => {
      const marker = endMarker(this.#key, 0);
      const out = new MarkerScanner(marker, () => undefined);
      const err = new MarkerScanner(marker, () => undefined);
      const timer = setTimeout(() => {
        this.#drop(
          new PefError(
            'pef/timeout',
            `The command shell on ${describeTarget(target)} did not start within ${startTimeoutMs} ms; if the host is just slow, raise ssh connect-timeout in the inventory.`,
            { host: target.config.ssh.host },
          ),
        );
      }, startTimeoutMs);
      const done = (): void => {
        if (out.status === undefined || err.status === undefined) return;
        clearTimeout(timer);
        this.#running = undefined;
        resolve();
      };
      this.#running = {
        stdout: (chunk) => void (out.push(chunk) && done()),
        stderr: (chunk) => void (err.push(chunk) && done()),
        fail: (error) => {
          clearTimeout(timer);
          this.#running = undefined;
          reject(error);
        },
      };
      this.#channel.write(startScript(this.#key));
    });
  }

  /** False once the channel has ended or was dropped; it is never reused then. */
  get alive(): boolean {
    return this.#alive;
  }

  /** Runs one command; the caller must not start another until this one settles. */
  // One command's lifetime: its listeners, timers, cancellation and the kill path share its state
  // in this closure.
  run(command: string, options: ChannelCommandOptions = {}): Promise<CommandOutput> {
    if (!this.#alive) return Promise.reject(new PefError('pef/internal', 'run() on a closed command channel'));
    if (this.#running)
      return Promise.reject(new PefError('pef/internal', 'run() while another command is running on this channel'));
    const { target } = this.#options;
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(commandCancelledError(target, command, false));
    if (options.stdin !== undefined && !this.#canBase64) {
      return Promise.reject(
        new PefError(
          'pef/command-failed',
          `Cannot pass stdin to a command on ${describeTarget(target)}: the host has no base64 command (coreutils).`,
          { host: target.config.ssh.host },
        ),
      );
    }
    const started = performance.now();
    return new Promise<CommandOutput>((resolve, reject) => {
      // Bad env names throw here, which rejects the promise before anything is written.
      const seq = ++this.#seq;
      const input = commandInput(this.#key, seq, command, options);
      const marker = endMarker(this.#key, seq);
      const out = new OutputCollector('stdout', options.onOutput);
      const err = new OutputCollector('stderr', options.onOutput);
      const stdout = new MarkerScanner(marker, out.push);
      const stderr = new MarkerScanner(marker, err.push);
      let timer: NodeJS.Timeout | undefined;
      // Set once the command is being stopped: the error run() ends with, and the stop's outcome.
      let stopping: { error: PefError; done: Promise<boolean> } | undefined;
      let settled = false;
      const onAbort = (): void => stop(commandCancelledError(target, command, true));
      const settle = (): void => {
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#running = undefined;
      };
      const finished = (): boolean => stdout.status !== undefined && stderr.status !== undefined;
      // While a stop is under way the end markers count for nothing: the stop decides.
      const check = (): void => {
        if (settled || stopping !== undefined || !finished()) return;
        settle();
        const status = Number.parseInt(stdout.status ?? '', 10);
        resolve({
          stdout: out.text(),
          stderr: err.text(),
          exitCode: Number.isNaN(status) ? null : status,
          durationMs: performance.now() - started,
        });
      };
      const stop = (error: PefError): void => {
        if (settled || stopping !== undefined) return;
        clearTimeout(timer);
        const pid = this.#shellPid;
        // Without the shell's pid (no /proc at start), dropping the channel is all that is left.
        if (pid === undefined) return this.#drop(error);
        // The stop ends the shell too; the command fails once it is over (checked, not assumed),
        // and the channel is dropped whatever came of it.
        const done = this.#options.stopCommand(pid).catch(() => false);
        stopping = { error, done };
        void done.then(() => this.#drop(error));
      };
      this.#running = {
        stdout: (chunk) => {
          if (stdout.push(chunk)) check();
        },
        stderr: (chunk) => {
          if (stderr.push(chunk)) check();
        },
        fail: (error) => {
          if (settled) return;
          // The stop ends the shell; its command fails only once the stop is over.
          if (stopping !== undefined && error !== stopping.error) return;
          settle();
          reject(stopping?.error ?? error);
        },
      };
      if (options.timeoutMs !== undefined) {
        const limit = options.timeoutMs;
        timer = setTimeout(() => stop(commandTimeoutError(target, command, limit)), limit);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#channel.write(input);
    });
  }

  /** Fails the running command with `error` (e.g. connection lost) and drops the channel. */
  abort(error: PefError): void {
    this.#drop(error);
  }

  /** Ends the shell; a running command fails with `pef/connection-lost`. */
  close(): void {
    this.#drop(connectionClosedError(this.#options.target));
  }

  #drop(error: PefError): void {
    const running = this.#running;
    this.#alive = false;
    running?.fail(error);
    try {
      // Not every server honours signals; closing is what counts.
      this.#channel.signal('KILL');
      this.#channel.close();
    } catch {
      // Already closed.
    }
  }
}

const NONCE_BYTES = 8;

function openExec(client: Ssh2Client, command: string, target: Target): Promise<Ssh2Channel> {
  return new Promise((resolve, reject) => {
    client.exec(command, {}, (error, channel) => {
      if (error) {
        reject(
          new PefError(
            'pef/command-failed',
            `Cannot open a session channel on ${describeTarget(target)}: ${error.message}`,
            { host: target.config.ssh.host },
            { cause: error },
          ),
        );
      } else {
        // Errors surface as 'close' or through the connection; an unhandled 'error' would crash pef.
        channel.on('error', () => undefined);
        resolve(channel);
      }
    });
  });
}

// Starts the shell: writes the ready probe (behind sudo when escalating), answers sudo's
// password request, and resolves with `<capabilities>:<shell pid>` once both streams are ready.
// The shell's start: its listeners and timers share the handshake's state in one closure.
function bootstrap(channel: Ssh2Channel, options: CommandChannelOptions): Promise<string> {
  const { target, escalation, shell } = options;
  const nonce = randomBytes(8).toString('hex');
  const ready = readyScript(nonce);
  return new Promise<string>((resolve, reject) => {
    let stdoutText = '';
    let stderrText = '';
    let passwordSent = false;
    let settled = false;
    const finish = (error?: PefError, capabilities?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      channel.removeListener('data', onStdout);
      channel.stderr.removeListener('data', onStderr);
      channel.removeListener('close', onClose);
      if (error) {
        channel.close();
        reject(error);
      } else {
        resolve(capabilities ?? '');
      }
    };
    let probed = false;
    const out = new MarkerScanner(`PEF-READY:${nonce}:`, (chunk) => {
      stdoutText += chunk.toString('utf8');
      if (escalation === undefined || probed) return;
      const probe = stdoutText
        .split('\n')
        .slice(0, -1)
        .map(parseProbeLine)
        .find((p) => p !== undefined);
      if (probe === undefined) return;
      probed = true;
      if (probe.kind === 'nosudo') return finish(escalationErrors.noSudo(target, escalation.runAs));
      if (probe.kind === 'password') {
        if (escalation.password === undefined)
          return finish(escalationErrors.passwordMissing(target, escalation.runAs, probe.message));
        passwordSent = true;
        channel.write(`${escalation.password.unwrap()}\n`);
      }
    });
    const err = new MarkerScanner(`PEF-READY:${nonce}:`, (chunk) => {
      stderrText += chunk.toString('utf8');
      if (passwordSent && escalation !== undefined && isPasswordRejected(stderrText))
        finish(escalationErrors.passwordRejected(target, escalation.runAs));
    });
    const check = (): void => {
      if (out.status !== undefined && err.status !== undefined) finish(undefined, out.status);
    };
    const onStdout = (chunk: Buffer): void => {
      out.push(chunk);
      check();
    };
    const onStderr = (chunk: Buffer): void => {
      err.push(chunk);
      check();
    };
    const onClose = (): void => {
      if (escalation !== undefined && stdoutText.includes(PROBE_PREFIX)) {
        finish(escalationErrors.sudoFailed(target, escalation.runAs, stderrText));
      } else {
        finish(
          new PefError(
            'pef/command-failed',
            `Cannot start the command shell \`${shell}\` on ${describeTarget(target)}${stderrText.trim() === '' ? '' : `: ${redact(stderrText.trim()).slice(0, 300)}`}`,
            { host: target.config.ssh.host, fallback: true },
          ),
        );
      }
    };
    const timer = setTimeout(() => {
      finish(
        escalation !== undefined && stdoutText.includes(PROBE_PREFIX)
          ? escalationErrors.sudoFailed(
              target,
              escalation.runAs,
              stderrText || `no shell within ${options.startTimeoutMs} ms`,
            )
          : // No fallback here: a shell that is merely slow (busy host, heavy login files) would
            // be slower still with a new session per command. Fail and name the knob instead.
            new PefError(
              'pef/timeout',
              `The command shell on ${describeTarget(target)} did not start within ${options.startTimeoutMs} ms; if the host is just slow, raise ssh connect-timeout in the inventory.`,
              { host: target.config.ssh.host },
            ),
      );
    }, options.startTimeoutMs);
    channel.on('data', onStdout);
    channel.stderr.on('data', onStderr);
    channel.on('close', onClose);
    if (escalation === undefined) {
      channel.write(`${ready}\n`);
    } else {
      // One line: the shell parses all of it before sudo starts, so the password we write
      // after the probe line can only be read by sudo, never by this shell.
      const inner = `${shQuote(shell)} -c ${shQuote(`${ready}; exec ${shQuote(shell)}`)}`;
      const onOk = `exec ${sudoPrefix(escalation.runAs, false)} ${inner}`;
      const onPassword = `exec ${sudoPrefix(escalation.runAs, true)} ${inner}`;
      channel.write(`${sudoProbeScript(escalation.runAs, onOk, onPassword)}\n`);
    }
  });
}
