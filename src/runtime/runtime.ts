/**
 * Everything one pef run shares: the inventory, the one-connection-per-target pool, the
 * executor and its event bus, the run log, the prompter, and the noop flag. Tasks and plans
 * receive what they need from here; only the CLI builds one.
 */
import type { EventBus } from '../executor/events.js';
import { Executor } from '../executor/executor.js';
import type { Role, Target } from '../inventory/target.js';
import type { Prompter } from '../interaction/prompter.js';
import type { RunLog } from '../log/run-log.js';
import type { Connection } from '../transport/transport.js';
import type { HookSettings } from '../workflow/hooks-config.js';
import { Cancellation } from './cancellation.js';

/** What the runtime needs from an inventory. */
export interface TargetSource {
  resolve(spec: string | readonly string[]): Promise<Target[]>;
  targetsWithRole(role: Role): Promise<Target[]> | Target[];
}

/** What the runtime needs from a connection pool. */
export interface ConnectionSource {
  get(target: Target): Promise<Connection>;
  closeAll(): Promise<void>;
}

/** Options for building a Runtime. */
export interface RuntimeOptions {
  targets: TargetSource;
  connections: ConnectionSource;
  events: EventBus;
  log: RunLog;
  prompter: Prompter;
  noop: boolean;
  concurrency?: number;
  /** The run's cancellation (the CLI's, wired to Ctrl-C); default: one nothing cancels. */
  cancellation?: Cancellation;
  /** The hooks plans run at named points (the pef config's `hooks`); default: none. */
  hooks?: HookSettings;
}

/** Shared state of one run; see the file comment. */
export class Runtime {
  readonly targets: TargetSource;
  readonly connections: ConnectionSource;
  readonly events: EventBus;
  readonly log: RunLog;
  readonly prompter: Prompter;
  readonly noop: boolean;
  readonly executor: Executor;
  readonly cancellation: Cancellation;
  readonly hooks: HookSettings;

  constructor(options: RuntimeOptions) {
    this.targets = options.targets;
    this.connections = options.connections;
    this.events = options.events;
    this.log = options.log;
    this.prompter = options.prompter;
    this.noop = options.noop;
    this.cancellation = options.cancellation ?? new Cancellation();
    this.hooks = options.hooks ?? { commands: {} };
    this.executor = new Executor(options.events, options.concurrency, this.cancellation);
  }

  /** Closes every connection; call once, when the run is over. */
  async close(): Promise<void> {
    await this.connections.closeAll();
  }
}
