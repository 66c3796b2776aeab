/**
 * The one way to build a pef runtime: the library's `createRuntime` (src/index.ts), which the
 * CLI session, the test helpers and the bench also use. It wires an inventory, one connection
 * pool, an event bus, a run log and a prompter into a Runtime, and answers tasks and plans by
 * name from the bundled catalog (or the `tasks` / `plans` given). Building is synchronous and
 * cheap: the inventory file is read, and the catalog and progress renderer are loaded, on first
 * use, so importing pef or creating a runtime connects to nothing and loads no ssh client.
 *
 * Progress is drawn per call: a `runTask` or `runPlan` attaches the renderer its `format` asks
 * for and detaches it before it returns, so what a script prints afterwards is never mixed
 * into a progress display.
 */
import { resolve } from 'node:path';
import { PefError } from '../errors/pef-error.js';
import { EventBus } from '../executor/events.js';
import { DEFAULT_CONCURRENCY } from '../executor/executor.js';
import type { ResultSet } from '../executor/result.js';
import { defaultPrompter, type Prompter } from '../interaction/prompter.js';
import { loadInventory } from '../inventory/load-inventory.js';
import type { Target } from '../inventory/target.js';
import { NullLog, RunLog } from '../log/run-log.js';
import type { PlanDefinition } from '../plan/plan.js';
import { runPlan, taskRegistry, type PlanResult } from '../plan/run-plan.js';
import { attachRenderer, type Renderer } from '../render/renderer.js';
import { runTask } from '../task/run-task.js';
import type { TaskDefinition } from '../task/task.js';
import { ConnectionPool, type TransportFactory } from '../transport/connection-pool.js';
import { transportFor } from '../transport/transports.js';
import type { HookSettings } from '../workflow/hooks-config.js';
import type { Cancellation } from './cancellation.js';
import { findDefinition } from './find-definition.js';
import { Runtime, type TargetSource } from './runtime.js';

/** How a runtime reports progress: `human` draws it (listr2 on a terminal, plain lines otherwise), `json` draws nothing. */
export type RuntimeFormat = 'human' | 'json';

/** Options of createRuntime (the stable, documented part: docs/runbook-scripts.md). */
export interface CreateRuntimeOptions {
  /** An inventory file (read on first use) or a loaded Inventory (see loadInventory). */
  inventory: string | TargetSource;
  /** Progress during a call: `human` (default) on stderr or the terminal, `json` none. */
  format?: RuntimeFormat;
  /** At most this many targets at once per task (default 100). */
  concurrency?: number;
  /** The run log file (every command, redacted); default: no log. */
  logFile?: string;
  /** Answers questions (prompt plugins); default: the terminal on a TTY outside CI, else refuse with `pef/non-interactive`. */
  prompter?: Prompter;
  /** Default for every call: record the commands that would change hosts, change nothing. */
  noop?: boolean;
  /** With `format: 'human'`: also show each command's output. */
  verbose?: boolean;
  /** The limit of a command that names none (default 10 minutes; 0: none). */
  commandTimeoutMs?: number;
  /** The tasks names resolve to, in runTask and inside plans (default: the bundled TASKS). */
  tasks?: readonly TaskDefinition[];
  /** The plans names resolve to, in runPlan and status (default: the bundled PLANS). */
  plans?: readonly PlanDefinition[];
  /** Commands plans run on this machine at named points (docs/hooks.md); default: none. */
  hooks?: HookSettings;
}

/**
 * How the CLI, the tests and the bench plug into a runtime; internal, not part of the stable
 * surface: the run's cancellation (the CLI's is wired to Ctrl-C), the transport factory, the
 * event bus, and where `human` progress goes.
 */
export interface RuntimeWiring {
  cancellation?: Cancellation;
  transportFor?: TransportFactory;
  events?: EventBus;
  /** Whether progress goes to a terminal (listr2); default: stdout is a TTY. */
  tty?: boolean;
  /** Where plain progress lines go; default stderr. */
  write?: (text: string) => void;
}

/** Targets for runTask: a spec (names, groups, aliases, globs, `all`), a list of specs, or resolved Targets. */
export type TargetSpec = string | readonly string[] | readonly Target[];

/** Options of one runTask call. */
export interface RunTaskCallOptions {
  /** This call only: noop or not (default: the runtime's `noop`). */
  noop?: boolean;
}

/** Options of one runPlan call. */
export interface RunPlanCallOptions {
  /** This call only: noop or not (default: the runtime's `noop`). */
  noop?: boolean;
  /** Resume: skip the steps before this one. */
  from?: string;
  /** Answer the confirmation of switchover, failover, promote and failback in advance (`--yes`). */
  yes?: boolean;
}

/** A pef runtime for scripts; close it when done (it holds one connection per target used). */
export interface PefRuntime {
  /** The runtime's default noop. */
  readonly noop: boolean;
  /** The targets a spec names in the inventory (`pef/unknown-target` for a name it lacks). */
  targets(spec: string | readonly string[]): Promise<Target[]>;
  /** Runs a task (by name or definition) on targets: one Result per target, failures as data. */
  runTask(
    task: string | TaskDefinition,
    targets: TargetSpec,
    params?: Record<string, unknown>,
    options?: RunTaskCallOptions,
  ): Promise<ResultSet>;
  /** Runs a plan (by name or definition); a failing step is in the PlanResult, not thrown. */
  runPlan(
    plan: string | PlanDefinition,
    params?: Record<string, unknown>,
    options?: RunPlanCallOptions,
  ): Promise<PlanResult>;
  /** Runs the plan named `status`; `pef/unknown-plan` when this pef has none. */
  status(params?: Record<string, unknown>): Promise<PlanResult>;
  /** Closes every connection; the runtime can be used again afterwards (it reconnects). */
  close(): Promise<void>;
  /** The Runtime behind this one (internal: the CLI and tests reach tasks' plumbing through it). */
  readonly core: Runtime;
}

/** Builds a runtime; see the file comment. Throws `pef/usage-error` for a bad option. */
export function createRuntime(options: CreateRuntimeOptions, wiring: RuntimeWiring = {}): PefRuntime {
  return new LibraryRuntime(checkOptions(options), wiring);
}

function checkOptions(options: CreateRuntimeOptions): CreateRuntimeOptions {
  const bad = (name: string, fix: string, value: unknown): PefError =>
    new PefError('pef/usage-error', `createRuntime: ${name} ${fix}, not ${JSON.stringify(value)}.`, {
      option: name,
      value,
    });
  const { inventory, format, concurrency } = options as Partial<CreateRuntimeOptions>;
  if (typeof inventory !== 'string' && (typeof inventory !== 'object' || inventory === null))
    throw bad('inventory', 'must be an inventory file path or a loaded Inventory (loadInventory)', inventory);
  if (format !== undefined && format !== 'human' && format !== 'json')
    throw bad('format', 'must be "human" or "json"', format);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw bad('concurrency', 'must be a whole number of at least 1', concurrency);
  return options;
}

class LibraryRuntime implements PefRuntime {
  readonly core: Runtime;
  readonly #options: CreateRuntimeOptions;
  readonly #wiring: RuntimeWiring;
  readonly #byNoop = new Map<boolean, Runtime>();
  #renderer: { count: number; ready: Promise<Renderer> } | undefined;

  constructor(options: CreateRuntimeOptions, wiring: RuntimeWiring) {
    this.#options = options;
    this.#wiring = wiring;
    const prompter = options.prompter ?? defaultPrompter();
    const log = options.logFile === undefined ? new NullLog() : new RunLog(resolve(options.logFile));
    const settings = options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs };
    const factory = wiring.transportFor ?? ((name) => transportFor(name, settings));
    // Only a real log hears about commands: an observed connection costs a little per command.
    const connections = new ConnectionPool(
      factory,
      options.logFile === undefined
        ? {}
        : {
            onCommand: (e) =>
              log.write(
                e.error ? 'warn' : 'debug',
                `ran \`${e.command}\` exit=${e.exitCode ?? 'null'} in ${e.durationMs.toFixed(0)}ms${e.error ? ` error=${e.error}` : ''}`,
                e.target,
              ),
          },
    );
    this.core = new Runtime({
      targets: typeof options.inventory === 'string' ? lazyInventory(options.inventory, prompter) : options.inventory,
      connections,
      events: wiring.events ?? new EventBus(),
      log,
      prompter,
      noop: options.noop === true,
      concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
      ...(wiring.cancellation === undefined ? {} : { cancellation: wiring.cancellation }),
      ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
    });
    this.#byNoop.set(this.core.noop, this.core);
  }

  get noop(): boolean {
    return this.core.noop;
  }

  targets(spec: string | readonly string[]): Promise<Target[]> {
    return this.core.targets.resolve(spec);
  }

  async runTask(
    task: string | TaskDefinition,
    targets: TargetSpec,
    params: Record<string, unknown> = {},
    options: RunTaskCallOptions = {},
  ): Promise<ResultSet> {
    const def = typeof task === 'string' ? findDefinition('task', await this.#tasks(), task) : task;
    const resolved = await this.#resolveTargets(targets);
    return this.#drawing(() => runTask(this.#runtime(options.noop), def, resolved, params));
  }

  async runPlan(
    plan: string | PlanDefinition,
    params: Record<string, unknown> = {},
    options: RunPlanCallOptions = {},
  ): Promise<PlanResult> {
    const def = typeof plan === 'string' ? findDefinition('plan', await this.#plans(), plan) : plan;
    const tasks = taskRegistry(await this.#tasks());
    return this.#drawing(() =>
      runPlan(this.#runtime(options.noop), def, params, {
        tasks,
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.yes === undefined ? {} : { yes: options.yes }),
      }),
    );
  }

  async status(params: Record<string, unknown> = {}): Promise<PlanResult> {
    const plans = await this.#plans();
    if (!plans.some((p) => p.name === 'status')) {
      throw new PefError(
        'pef/unknown-plan',
        `status() runs the plan named "status", and this runtime has none (its plans: ${plans.map((p) => p.name).join(', ') || 'none'}). Update pef, or give createRuntime a plans list that includes a status plan.`,
        { plan: 'status', known: plans.map((p) => p.name) },
      );
    }
    return this.runPlan('status', params);
  }

  async close(): Promise<void> {
    await this.core.close();
  }

  // A call with its own noop shares everything but the flag (and its executor) with the core.
  #runtime(noop: boolean | undefined): Runtime {
    const want = noop ?? this.core.noop;
    let runtime = this.#byNoop.get(want);
    if (runtime === undefined) {
      const c = this.core;
      runtime = new Runtime({
        targets: c.targets,
        connections: c.connections,
        events: c.events,
        log: c.log,
        prompter: c.prompter,
        noop: want,
        concurrency: this.#options.concurrency ?? DEFAULT_CONCURRENCY,
        cancellation: c.cancellation,
        hooks: c.hooks,
      });
      this.#byNoop.set(want, runtime);
    }
    return runtime;
  }

  async #resolveTargets(targets: TargetSpec): Promise<Target[]> {
    if (typeof targets === 'string') return this.targets(targets);
    if (targets.every((t): t is string => typeof t === 'string')) return this.targets(targets);
    return targets.filter((t): t is Target => typeof t !== 'string');
  }

  async #tasks(): Promise<readonly TaskDefinition[]> {
    return this.#options.tasks ?? (await import('../../tasks/index.js')).TASKS;
  }

  async #plans(): Promise<readonly PlanDefinition[]> {
    return this.#options.plans ?? (await import('../../plans/index.js')).PLANS;
  }

  // Calls running at the same time share one renderer, detached when the last one ends.
  async #drawing<T>(call: () => Promise<T>): Promise<T> {
    if ((this.#options.format ?? 'human') === 'json') return call();
    if (this.#renderer === undefined) {
      this.#renderer = {
        count: 0,
        ready: attachRenderer(
          this.core.events,
          {
            format: 'human',
            verbose: this.#options.verbose === true,
            tty: this.#wiring.tty ?? process.stdout.isTTY === true,
          },
          this.#wiring.write ?? ((t) => process.stderr.write(t)),
        ),
      };
    }
    const drawing = this.#renderer;
    drawing.count++;
    try {
      await drawing.ready;
      return await call();
    } finally {
      if (--drawing.count === 0) {
        this.#renderer = undefined;
        await (await drawing.ready).stop();
      }
    }
  }
}

// The file is read once, on the first lookup, so building a runtime touches no file.
function lazyInventory(file: string, prompter: Prompter): TargetSource {
  let loaded: Promise<TargetSource> | undefined;
  const inventory = (): Promise<TargetSource> => (loaded ??= loadInventory(resolve(file), { prompter }));
  return {
    resolve: async (spec) => (await inventory()).resolve(spec),
    targetsWithRole: async (role) => (await inventory()).targetsWithRole(role),
  };
}
