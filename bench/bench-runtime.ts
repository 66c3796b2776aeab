/**
 * pef as the CLI wires it for `pef task run`, minus the CLI: a ConnectionPool over the default
 * transports, the executor at a given concurrency, a log that writes nowhere and a prompter
 * that refuses, plus the trivial task the bench runs.
 */
import { z } from 'zod';
import { EventBus } from '../src/executor/events.js';
import { NonInteractivePrompter } from '../src/interaction/prompter.js';
import { NullLog } from '../src/log/run-log.js';
import { Runtime } from '../src/runtime/runtime.js';
import { defineTask } from '../src/task/task.js';
import { ConnectionPool } from '../src/transport/connection-pool.js';
import { transportFor } from '../src/transport/transports.js';

/** The command every benchmark runs; cheap, and its output proves it ran. */
export const BENCH_COMMAND = 'echo x';

/** A task that runs BENCH_COMMAND once and checks what came back. */
export const benchEcho = defineTask({
  name: 'bench_echo',
  description: 'Run `echo x` once (benchmark)',
  params: z.object({}),
  supportsNoop: true,
  async run(ctx) {
    const out = await ctx.read(BENCH_COMMAND);
    if (out.stdout !== 'x\n')
      throw new Error(`bench_echo on ${ctx.target.name}: unexpected output ${JSON.stringify(out.stdout)}`);
    return { changed: false };
  },
});

/** A Runtime on a fresh ConnectionPool; close it with `runtime.close()`. */
export function benchRuntime(concurrency: number): { runtime: Runtime; pool: ConnectionPool } {
  const pool = new ConnectionPool(transportFor);
  const runtime = new Runtime({
    targets: { resolve: () => Promise.resolve([]), targetsWithRole: () => [] },
    connections: pool,
    events: new EventBus(),
    log: new NullLog(),
    prompter: new NonInteractivePrompter(),
    noop: false,
    concurrency,
  });
  return { runtime, pool };
}
