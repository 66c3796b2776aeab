/**
 * Line-by-line progress for logs, pipes and CI: one line per event worth seeing, each prefixed
 * with the target, so `grep` works. Command output is shown only with --verbose.
 */
import type { EventBus, RunEvent } from '../executor/events.js';
import { redact } from '../util/sensitive.js';
import type { Renderer } from './renderer.js';

/** Plain-text progress; see the file comment. */
export class PlainRenderer implements Renderer {
  readonly #unsubscribe: () => void;

  constructor(
    bus: EventBus,
    private readonly verbose: boolean,
    private readonly write: (text: string) => void,
  ) {
    this.#unsubscribe = bus.subscribe((event) => {
      const line = this.#format(event);
      if (line !== undefined) this.write(redact(line) + '\n');
    });
  }

  #format(event: RunEvent): string | undefined {
    switch (event.type) {
      case 'step-start':
        return `== step ${event.index + 1}/${event.total}: ${event.step}`;
      case 'step-skip':
        return `-- step ${event.step}: skipped (${event.reason})`;
      case 'step-finish':
        return `== step ${event.step}: ${event.ok ? 'ok' : 'FAILED'} (${(event.elapsedMs / 1000).toFixed(1)}s)`;
      case 'action-start':
        return `Starting: ${event.action} ${event.object} on ${event.targets.length} target(s)`;
      case 'target-finish': {
        const r = event.result;
        if (r.status === 'failure') return `[${r.target}] ${r.action} ${r.object}: FAILED: ${r.error?.msg ?? ''}`;
        return `[${r.target}] ${r.action} ${r.object}: ok${r.changed === undefined ? '' : r.changed ? ' (changed)' : ' (no change)'}`;
      }
      case 'noop-command':
        return `[${event.target}] would run: ${event.command}`;
      case 'message':
        return event.target ? `[${event.target}] ${event.text}` : event.text;
      case 'output':
        return this.verbose
          ? `[${event.target}] ${event.stream === 'stderr' ? '!' : '>'} ${event.chunk.replace(/\n$/, '')}`
          : undefined;
      default:
        return undefined;
    }
  }

  async stop(): Promise<void> {
    this.#unsubscribe();
  }
}
