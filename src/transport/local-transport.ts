/**
 * The local transport: commands run on the controller itself, with the same semantics as on
 * an ssh target (`sh -c`, home as cwd, stdin from /dev/null unless given, per-command env,
 * timeout that stops the whole process group). Files are copied. It uses child_process
 * directly: a detached process group is what lets a timeout stop the command's children too.
 */
import { spawn } from 'node:child_process';
import { chmod, copyFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { PefError } from '../errors/pef-error.js';
import type { Target } from '../inventory/target.js';
import { commandTimeoutError, describeTarget } from './command-errors.js';
import { OutputCollector } from './output-collector.js';
import type { CommandOptions, CommandOutput, Connection, Transport } from './transport.js';

/** Options of LocalTransport. */
export interface LocalTransportOptions {
  /** After a timeout's TERM, how long before KILL (default 2000 ms). */
  killAfterMs?: number;
}

/** Opens LocalConnections. */
export class LocalTransport implements Transport {
  readonly name = 'local' as const;
  readonly #killAfterMs: number;

  constructor(options: LocalTransportOptions = {}) {
    this.#killAfterMs = options.killAfterMs ?? 2000;
  }

  async connect(target: Target): Promise<LocalConnection> {
    return new LocalConnection(target, this.#killAfterMs);
  }
}

/** A "connection" to the controller; see the file comment. */
export class LocalConnection implements Connection {
  readonly target: Target;
  readonly #killAfterMs: number;
  readonly #running = new Set<number>();
  #closed = false;

  constructor(target: Target, killAfterMs: number) {
    this.target = target;
    this.#killAfterMs = killAfterMs;
  }

  run(command: string, options: CommandOptions = {}): Promise<CommandOutput> {
    if (this.#closed)
      return Promise.reject(
        new PefError('pef/connection-lost', `The local connection for ${this.target.name} was closed.`, {
          target: this.target.name,
        }),
      );
    const started = performance.now();
    const out = new OutputCollector('stdout', options.onOutput);
    const err = new OutputCollector('stderr', options.onOutput);
    return new Promise<CommandOutput>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], {
        cwd: homedir(),
        env: { ...process.env, ...options.env },
        // Its own process group, so a timeout can stop everything the command started.
        detached: true,
        stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      const pid = child.pid;
      if (pid !== undefined) this.#running.add(pid);
      let timedOut = false;
      const timers: NodeJS.Timeout[] = [];
      if (options.timeoutMs !== undefined && pid !== undefined) {
        timers.push(
          setTimeout(() => {
            timedOut = true;
            killGroup(pid, 'SIGTERM');
            timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), this.#killAfterMs));
          }, options.timeoutMs),
        );
      }
      child.stdout?.on('data', out.push);
      child.stderr?.on('data', err.push);
      if (child.stdin) {
        // A command that does not read its stdin closes the pipe early; that is not an error.
        child.stdin.on('error', () => undefined);
        child.stdin.end(options.stdin);
      }
      child.on('error', (error) => {
        for (const t of timers) clearTimeout(t);
        if (pid !== undefined) this.#running.delete(pid);
        reject(
          new PefError(
            'pef/command-failed',
            `Cannot run a command on ${describeTarget(this.target)}: ${error.message}`,
            { target: this.target.name },
            { cause: error },
          ),
        );
      });
      child.on('close', (code, signal) => {
        for (const t of timers) clearTimeout(t);
        if (pid !== undefined) this.#running.delete(pid);
        if (timedOut) reject(commandTimeoutError(this.target, command, options.timeoutMs ?? 0));
        else
          resolve({
            stdout: out.text(),
            stderr: err.text(),
            exitCode: signal === null ? code : null,
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
