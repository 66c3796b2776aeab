/**
 * Renderers draw a run from its events. Choice (see `chooseRenderer`): listr2 on a TTY, plain
 * lines without one, nothing during the run with `--format json` (the CLI prints one JSON
 * document at the end). Rendering never drives execution.
 */
import type { EventBus } from '../executor/events.js';

/** Draws a run; `stop` flushes and detaches. */
export interface Renderer {
  stop(): Promise<void>;
}

/** What the CLI asked for. */
export interface RenderChoice {
  format: 'human' | 'json';
  verbose: boolean;
  tty: boolean;
}

/** Attaches the right renderer to the bus; see the file comment. */
export async function attachRenderer(
  bus: EventBus,
  choice: RenderChoice,
  write: (text: string) => void,
): Promise<Renderer> {
  if (choice.format === 'json') return { stop: async () => {} };
  if (choice.tty) {
    const { ListrRenderer } = await import('./listr-renderer.js');
    return new ListrRenderer(bus, choice.verbose);
  }
  const { PlainRenderer } = await import('./plain-renderer.js');
  return new PlainRenderer(bus, choice.verbose, write);
}
