/**
 * Live progress on a terminal with listr2: each action (a task run over targets) becomes a
 * listr block with one line per target, resolved by the executor's events; step starts print a
 * header. listr2 only draws: the promises it awaits are settled by events, never the reverse.
 */
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { EventBus, RunEvent } from '../executor/events.js';
import { redact } from '../util/sensitive.js';
import type { Renderer } from './renderer.js';

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
  wrapper?: ListrTaskWrapper<unknown, never, never>;
}

/** listr2 progress; see the file comment. */
export class ListrRenderer implements Renderer {
  readonly #unsubscribe: () => void;
  readonly #pending = new Map<string, Pending>();
  #running: Promise<unknown> = Promise.resolve();

  constructor(
    bus: EventBus,
    private readonly verbose: boolean,
  ) {
    this.#unsubscribe = bus.subscribe((event) => this.#on(event));
  }

  #on(event: RunEvent): void {
    switch (event.type) {
      case 'step-start':
        this.#after(() => process.stdout.write(`\n▶ step ${event.index + 1}/${event.total}: ${event.step}\n`));
        break;
      case 'step-skip':
        this.#after(() => process.stdout.write(`↷ step ${event.step}: skipped (${event.reason})\n`));
        break;
      case 'action-start':
        this.#startBlock(`${event.action} ${event.object}`, event.targets);
        break;
      case 'target-finish': {
        const pending = this.#pending.get(event.result.target);
        if (!pending) break;
        this.#pending.delete(event.result.target);
        const r = event.result;
        if (r.status === 'failure') pending.reject(new Error(redact(r.error?.msg ?? 'failed')));
        else {
          if (pending.wrapper && r.changed !== undefined)
            pending.wrapper.title = `${r.target}: ${r.changed ? 'changed' : 'no change'}`;
          pending.resolve();
        }
        break;
      }
      case 'noop-command':
        this.#output(event.target, `would run: ${event.command}`);
        break;
      case 'message':
        if (event.target) this.#output(event.target, event.text);
        else this.#after(() => process.stdout.write(`${redact(event.text)}\n`));
        break;
      case 'output':
        if (this.verbose) this.#output(event.target, event.chunk.replace(/\n$/, ''));
        break;
      default:
        break;
    }
  }

  #startBlock(title: string, targets: readonly string[]): void {
    const tasks = targets.map((target) => {
      const gate = new Promise<void>((resolve, reject) => {
        this.#pending.set(target, { resolve, reject });
      });
      // A target can fail before listr starts its line (an earlier block still drawing, a refused
      // connection): unobserved until then, the rejection would end the process as unhandled.
      gate.catch(() => undefined);
      return {
        title: target,
        task: async (_ctx: unknown, wrapper: ListrTaskWrapper<unknown, never, never>) => {
          const pending = this.#pending.get(target);
          if (pending) pending.wrapper = wrapper;
          await gate;
        },
      };
    });
    const list = new Listr(
      [{ title, task: (_ctx, parent) => parent.newListr(tasks as never, { concurrent: true, exitOnError: false }) }],
      { exitOnError: false, rendererOptions: { collapseSubtasks: false, collapseErrors: false } } as never,
    );
    // Rendering never drives execution: a failed task is shown by listr and reported by the results.
    this.#running = this.#running.then(() => list.run().catch(() => undefined));
  }

  #output(target: string, text: string): void {
    const wrapper = this.#pending.get(target)?.wrapper;
    if (wrapper) wrapper.output = redact(text);
  }

  #after(fn: () => void): void {
    this.#running = this.#running.then(fn);
  }

  async stop(): Promise<void> {
    this.#unsubscribe();
    await this.#running;
  }
}
