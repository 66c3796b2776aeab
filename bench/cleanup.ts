/**
 * Everything the bench starts is stopped at the end, also on failure and on Ctrl-C: teardown
 * steps run last-in first-out, once, from `finally` or from a signal handler; pids registered
 * here are killed synchronously on `exit` as a last resort (by pid, never by name).
 */

type Step = { name: string; run: () => Promise<void> };

/** LIFO teardown plus a last-resort pid list; see the file comment. */
export class Cleanup {
  readonly #steps: Step[] = [];
  readonly #pids = new Set<number>();
  #running: Promise<void> | undefined;

  /** True once teardown has begun: start nothing new. */
  get stopping(): boolean {
    return this.#running !== undefined;
  }

  /** Registers a teardown step; returns a function that runs it now (and unregisters it). */
  add(name: string, run: () => Promise<void>): () => Promise<void> {
    const step: Step = { name, run };
    this.#steps.push(step);
    return async () => {
      const i = this.#steps.indexOf(step);
      if (i < 0) return;
      this.#steps.splice(i, 1);
      await run();
    };
  }

  /** Remembers a pid to SIGKILL if the process is still around when the bench exits. */
  trackPid(pid: number): void {
    this.#pids.add(pid);
  }

  untrackPid(pid: number): void {
    this.#pids.delete(pid);
  }

  /** Runs every step (LIFO), each at most `stepTimeoutMs`; errors are printed, not thrown. */
  runAll(stepTimeoutMs = 20_000): Promise<void> {
    this.#running ??= (async () => {
      for (let step = this.#steps.pop(); step !== undefined; step = this.#steps.pop()) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            step.run(),
            new Promise<void>(
              (_, reject) =>
                (timer = setTimeout(() => reject(new Error(`timed out after ${stepTimeoutMs} ms`)), stepTimeoutMs)),
            ),
          ]);
        } catch (error) {
          process.stderr.write(`bench: cleanup "${step.name}" failed: ${(error as Error).message}\n`);
        } finally {
          clearTimeout(timer);
        }
      }
      this.killTracked();
    })();
    return this.#running;
  }

  /** SIGKILLs every tracked pid that is still alive (synchronous, safe in an `exit` handler). */
  killTracked(): void {
    for (const pid of this.#pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.#pids.clear();
  }

  /**
   * On SIGINT/SIGTERM/SIGHUP: tear down now and let the interrupted run unwind (it starts
   * nothing new once `stopping`); exit 128+signal at the latest 20 s later. On exit: kill
   * what is left.
   */
  installSignalHandlers(): void {
    const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    for (const [signal, code] of Object.entries(codes)) {
      process.once(signal, () => {
        process.stderr.write(`\nbench: ${signal}, stopping everything it started…\n`);
        process.exitCode = code;
        void this.runAll(15_000).finally(() => setTimeout(() => process.exit(code), 20_000).unref());
      });
    }
    process.once('exit', () => this.killTracked());
  }
}
