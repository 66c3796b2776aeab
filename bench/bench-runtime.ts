/**
 * pef as the CLI wires it for `pef task run`, minus the CLI (createRuntime): a connection pool
 * over the default transports, the executor at a given concurrency, no run log, no progress and
 * a prompter that refuses, plus the trivial task the bench runs.
 */
import { z } from 'zod';
import { NonInteractivePrompter } from '../src/interaction/prompter.js';
import { createRuntime } from '../src/runtime/create-runtime.js';
import type { ConnectionSource, Runtime } from '../src/runtime/runtime.js';
import { defineTask } from '../src/task/task.js';

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

/** A Runtime on a fresh connection pool (createRuntime, no inventory); close it with `runtime.close()`. */
export function benchRuntime(concurrency: number): { runtime: Runtime; pool: ConnectionSource } {
  const { core } = createRuntime({
    // The bench builds its targets itself (test/helpers/sshd.ts), so nothing resolves names.
    inventory: { resolve: () => Promise.resolve([]), targetsWithRole: () => [] },
    format: 'json',
    concurrency,
    prompter: new NonInteractivePrompter(),
  });
  return { runtime: core, pool: core.connections };
}
