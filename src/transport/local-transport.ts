/**
 * The local transport: commands run on the controller itself, with the same semantics as on
 * an ssh target (`sh -c`, home as cwd, stdin from /dev/null unless given, per-command env,
 * timeout or cancellation that stops the whole process group). Files are copied. It uses
 * child_process directly: a detached process group is what lets a stop reach the command's children too.
 */
import { spawn } from 'node:child_process';
import { chmod, copyFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { PefError } from '../errors/pef-error.js';
import type { Target } from '../inventory/target.js';
import { commandCancelledError, commandTimeoutError, describeTarget } from './command-errors.js';
import { checkTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS, effectiveTimeoutMs } from './command-timeout.js';
import { OutputCollector } from './output-collector.js';
import type { CommandOptions, CommandOutput, Connection, Transport } from './transport.js';

/** Options of LocalTransport. */
export interface LocalTransportOptions {
  /** After a timeout's TERM, how long before KILL (default 2000 ms). */
  killAfterMs?: number;
  /** The limit of a command that names none (default 10 minutes; 0 or Infinity: none). */
  commandTimeoutMs?: number;
  /** The environment every command starts from (default: pef's own); a command's `env` is added to it. */
  env?: Readonly<Record<string, string>>;
  /** The directory commands start in (default: the home directory, as on an ssh target). */
  cwd?: string;
}

/** Opens LocalConnections. */
export class LocalTransport implements Transport {
  readonly name = 'local' as const;
  readonly #killAfterMs: number;
  readonly #commandTimeoutMs: number;
  readonly #start: CommandStart;

  constructor(options: LocalTransportOptions = {}) {
    if (options.commandTimeoutMs !== undefined) checkTimeoutMs(options.commandTimeoutMs, 'commandTimeoutMs');
    this.#killAfterMs = options.killAfterMs ?? 2000;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#start = {
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    };
  }

  async connect(target: Target): Promise<LocalConnection> {
    return new LocalConnection(target, this.#killAfterMs, this.#commandTimeoutMs, this.#start);
  }
}

/** Where a local command starts: its base environment and directory (LocalTransportOptions). */
export interface CommandStart {
  env?: Readonly<Record<string, string>>;
  cwd?: string;
}

/** A "connection" to the controller; see the file comment. */
export class LocalConnection implements Connection {
  readonly target: Target;
  readonly #killAfterMs: number;
  readonly #commandTimeoutMs: number | undefined;
  readonly #running = new Set<number>();
  readonly #start: CommandStart;
  #closed = false;

  constructor(
    target: Target,
    killAfterMs: number,
    commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS,
    start: CommandStart = {},
  ) {
    this.target = target;
    this.#killAfterMs = killAfterMs;
    this.#commandTimeoutMs = effectiveTimeoutMs(undefined, commandTimeoutMs);
    this.#start = start;
  }

  run(command: string, options: CommandOptions = {}): Promise<CommandOutput> {
    if (this.#closed)
      return Promise.reject(
        new PefError('pef/connection-lost', `The local connection for ${this.target.name} was closed.`, {
          target: this.target.name,
        }),
      );
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(commandCancelledError(this.target, command, false));
    const started = performance.now();
    const out = new OutputCollector('stdout', options.onOutput);
    const err = new OutputCollector('stderr', options.onOutput);
    return new Promise<CommandOutput>((resolve, reject) => {
      // A bad limit throws here, which rejects the promise before anything starts.
      const timeoutMs = effectiveTimeoutMs(options.timeoutMs, this.#commandTimeoutMs);
      const child = spawn('/bin/sh', ['-c', command], {
        cwd: this.#start.cwd ?? homedir(),
        env: { ...(this.#start.env ?? process.env), ...options.env },
        // Its own process group, so a timeout can stop everything the command started.
        detached: true,
        stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      const pid = child.pid;
      if (pid !== undefined) this.#running.add(pid);
      // Why the command is being stopped, once it is: a timeout or a cancellation.
      let stopped: PefError | undefined;
      const timers: NodeJS.Timeout[] = [];
      const stop = (error: PefError): void => {
        if (stopped !== undefined || pid === undefined) return;
        stopped = error;
        killGroup(pid, 'SIGTERM');
        timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), this.#killAfterMs));
      };
      const onAbort = (): void => stop(commandCancelledError(this.target, command, true));
      const done = (): void => {
        for (const t of timers) clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        if (pid !== undefined) this.#running.delete(pid);
      };
      if (timeoutMs !== undefined) {
        const limit = timeoutMs;
        timers.push(setTimeout(() => stop(commandTimeoutError(this.target, command, limit)), limit));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout?.on('data', out.push);
      child.stderr?.on('data', err.push);
      if (child.stdin) {
        // A command that does not read its stdin closes the pipe early; that is not an error.
        child.stdin.on('error', () => undefined);
        child.stdin.end(options.stdin);
      }
      child.on('error', (error) => {
        done();
        reject(
          new PefError(
            'pef/command-failed',
            `Cannot run a command on ${describeTarget(this.target)}: ${error.message}`,
            { target: this.target.name },
            { cause: error },
          ),
        );
      });
      child.on('close', (code, killedBy) => {
        done();
        if (stopped !== undefined) reject(stopped);
        else
          resolve({
            stdout: out.text(),
            stderr: err.text(),
            exitCode: killedBy === null ? code : null,
            durationMs: performance.now() - started,
          });
      });
    });
  }

  async upload(localPath: string, remotePath: string, options: { mode?: number } = {}): Promise<void> {
    await this.#copy('upload', localPath, remotePath, options.mode);
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    await this.#copy('download', remotePath, localPath, undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const pid of this.#running) killGroup(pid, 'SIGTERM');
  }

  async #copy(direction: 'upload' | 'download', from: string, to: string, mode: number | undefined): Promise<void> {
    try {
      await copyFile(from, to);
      if (mode !== undefined) await chmod(to, mode);
    } catch (error) {
      throw new PefError(
        'pef/transfer-failed',
        `Cannot ${direction} ${from} to ${to} on ${describeTarget(this.target)}: ${(error as Error).message}`,
        {
          target: this.target.name,
          direction,
          from,
          to,
        },
      );
    }
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
