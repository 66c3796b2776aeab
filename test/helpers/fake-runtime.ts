/**
 * A Runtime for unit tests: targets built in memory and connections whose commands are answered
 * by a handler, recording everything sent. No module mocking (it does not work in ESM jest).
 */
import { EventBus, type RunEvent } from '../../src/executor/events.js';
import type { Role, Target } from '../../src/inventory/target.js';
import { NonInteractivePrompter, type Prompter } from '../../src/interaction/prompter.js';
import { NullLog } from '../../src/log/run-log.js';
import type { Cancellation } from '../../src/runtime/cancellation.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { CommandOptions, CommandOutput, Connection } from '../../src/transport/transport.js';
import type { HookSettings } from '../../src/workflow/hooks-config.js';
import type { RunLog } from '../../src/log/run-log.js';

/** Answers one command on one target; throw to simulate a transport failure. */
export type CommandHandler = (
  target: string,
  command: string,
  options: CommandOptions,
) => Partial<CommandOutput> | Promise<Partial<CommandOutput>>;

/** A target with defaults, for tests. */
export function fakeTarget(name: string, vars: Record<string, unknown> = {}): Target {
  return {
    name,
    aliases: [],
    groups: [],
    vars,
    facts: {},
    config: { transport: 'ssh', ssh: { host: name, port: 22, user: 'root', hostKeyCheck: true, connectTimeout: 10 } },
  };
}

/** A runtime plus what it recorded. */
export interface FakeRuntime {
  runtime: Runtime;
  sent: { target: string; command: string }[];
  /** The options each command in `sent` was run with (same order). */
  options: CommandOptions[];
  events: RunEvent[];
  connectCount: Map<string, number>;
}

/** Builds a FakeRuntime over `targets`. */
export function fakeRuntime(
  targets: Target[],
  handler: CommandHandler = () => ({}),
  options: {
    noop?: boolean;
    concurrency?: number;
    cancellation?: Cancellation;
    prompter?: Prompter;
    hooks?: HookSettings;
    log?: RunLog;
  } = {},
): FakeRuntime {
  const sent: FakeRuntime['sent'] = [];
  const sentOptions: CommandOptions[] = [];
  const events: RunEvent[] = [];
  const connectCount = new Map<string, number>();
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  const connections = new Map<string, Connection>();
  const runtime = new Runtime({
    targets: {
      resolve: async (spec) => {
        const names = (Array.isArray(spec) ? spec : String(spec).split(',')) as string[];
        return names.includes('all') ? targets : targets.filter((t) => names.includes(t.name));
      },
      targetsWithRole: (role: Role) => targets.filter((t) => t.vars['role'] === role),
    },
    connections: {
      get: async (target) => {
        connectCount.set(target.name, (connectCount.get(target.name) ?? 0) + 1);
        let c = connections.get(target.name);
        if (!c) {
          c = {
            target,
            run: async (command, opts = {}) => {
              sent.push({ target: target.name, command });
              sentOptions.push(opts);
              const out = await handler(target.name, command, opts);
              if (out.stdout) opts.onOutput?.('stdout', out.stdout);
              return { stdout: '', stderr: '', exitCode: 0, durationMs: 1, ...out };
            },
            upload: async (local, remote) => {
              sent.push({ target: target.name, command: `upload ${local} ${remote}` });
            },
            download: async () => {},
            close: async () => {},
          };
          connections.set(target.name, c);
        }
        return c;
      },
      closeAll: async () => {},
    },
    events: bus,
    log: options.log ?? new NullLog(),
    prompter: options.prompter ?? new NonInteractivePrompter(),
    noop: options.noop ?? false,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.cancellation === undefined ? {} : { cancellation: options.cancellation }),
    ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
  });
  return { runtime, sent, options: sentOptions, events, connectCount };
}
