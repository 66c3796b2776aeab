/**
 * One Connection per target per run. The pool caches the *promise* of a connection, so two
 * steps asking for the same target at once share one handshake instead of opening two. A
 * failed connect is forgotten (the next `get` tries again, e.g. after a reboot step), and so
 * is a connection that was lost. Every command run through a pooled connection is reported to
 * `onCommand` (command text redacted), which is how the run log records them.
 */
import { toErrorData } from '../errors/pef-error.js';
import type { Target, TransportName } from '../inventory/target.js';
import { redact } from '../util/sensitive.js';
import type { CommandOptions, CommandOutput, Connection, Transport } from './transport.js';

/** Makes the transport for a name; tests inject their own. */
export type TransportFactory = (name: TransportName) => Transport;

/** What the run log hears about each command and transfer. */
export interface CommandEvent {
  /** The target's name. */
  target: string;
  kind: 'command' | 'upload' | 'download';
  /** The command (redacted), or `local -> remote` for transfers. */
  command: string;
  /** null when the command was killed by a signal, or did not finish (see `error`). */
  exitCode: number | null;
  durationMs: number;
  /** `kind: message` when the transport failed (timeout, connection lost, …). */
  error?: string;
}

/** Options of ConnectionPool. */
export interface ConnectionPoolOptions {
  onCommand?: (event: CommandEvent) => void;
}

/** See the file comment. */
export class ConnectionPool {
  readonly #transportFor: TransportFactory;
  readonly #transports = new Map<TransportName, Transport>();
  readonly #connections = new Map<string, Promise<Connection>>();
  readonly #onCommand: ((event: CommandEvent) => void) | undefined;

  constructor(transportFor: TransportFactory, options: ConnectionPoolOptions = {}) {
    this.#transportFor = transportFor;
    this.#onCommand = options.onCommand;
  }

  /** The target's connection, opened on first use. */
  get(target: Target): Promise<Connection> {
    const cached = this.#connections.get(target.name);
    if (cached !== undefined) return cached.then((c) => (isAlive(c) ? c : this.#evictAndRetry(target, cached)));
    const opening = this.#open(target);
    this.#connections.set(target.name, opening);
    opening.catch(() => {
      if (this.#connections.get(target.name) === opening) this.#connections.delete(target.name);
    });
    return opening;
  }

  /** Closes every connection; the pool can be used again afterwards. */
  async closeAll(): Promise<void> {
    const all = [...this.#connections.values()];
    this.#connections.clear();
    // A connection that never opened has nothing to close; its error was reported to its user.
    await Promise.all(all.map((p) => p.then((c) => c.close()).catch(() => undefined)));
  }

  async #open(target: Target): Promise<Connection> {
    const name = target.config.transport;
    let transport = this.#transports.get(name);
    if (transport === undefined) {
      transport = this.#transportFor(name);
      this.#transports.set(name, transport);
    }
    const connection = await transport.connect(target);
    return this.#onCommand === undefined ? connection : new ObservedConnection(connection, this.#onCommand);
  }

  #evictAndRetry(target: Target, stale: Promise<Connection>): Promise<Connection> {
    if (this.#connections.get(target.name) === stale) this.#connections.delete(target.name);
    return this.get(target);
  }
}

function isAlive(connection: Connection): boolean {
  return connection.alive !== false;
}

// Wraps a connection to report each command and transfer.
class ObservedConnection implements Connection {
  readonly #inner: Connection;
  readonly #emit: (event: CommandEvent) => void;

  constructor(inner: Connection, emit: (event: CommandEvent) => void) {
    this.#inner = inner;
    this.#emit = emit;
  }

  get target(): Target {
    return this.#inner.target;
  }

  get alive(): boolean {
    return isAlive(this.#inner);
  }

  async run(command: string, options?: CommandOptions): Promise<CommandOutput> {
    return this.#observe('command', command, async () => {
      const output = await this.#inner.run(command, options);
      return { value: output, exitCode: output.exitCode };
    });
  }

  upload(localPath: string, remotePath: string, options?: { mode?: number }): Promise<void> {
    return this.#observe('upload', `${localPath} -> ${remotePath}`, async () => ({
      value: await this.#inner.upload(localPath, remotePath, options),
      exitCode: 0,
    }));
  }

  download(remotePath: string, localPath: string): Promise<void> {
    return this.#observe('download', `${remotePath} -> ${localPath}`, async () => ({
      value: await this.#inner.download(remotePath, localPath),
      exitCode: 0,
    }));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #observe<T>(
    kind: CommandEvent['kind'],
    text: string,
    fn: () => Promise<{ value: T; exitCode: number | null }>,
  ): Promise<T> {
    const started = performance.now();
    const report = (exitCode: number | null, error?: unknown): void => {
      const data = error === undefined ? undefined : toErrorData(error);
      try {
        this.#emit({
          target: this.#inner.target.name,
          kind,
          command: redact(text),
          exitCode,
          durationMs: performance.now() - started,
          ...(data === undefined ? {} : { error: `${data.kind}: ${redact(data.msg)}` }),
        });
      } catch {
        // The log must never break the run.
      }
    };
    try {
      const { value, exitCode } = await fn();
      report(exitCode);
      return value;
    } catch (error) {
      report(null, error);
      throw error;
    }
  }
}
