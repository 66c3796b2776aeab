/**
 * Collects one output stream of a command as raw bytes (decoded once at the end, so a
 * multi-byte character split across chunks stays whole) and streams it to `onOutput`.
 */
import { StringDecoder } from 'node:string_decoder';
import type { CommandOptions, Stream } from './transport.js';

/** One stream's bytes plus its live listener; see the file comment. */
export class OutputCollector {
  readonly #chunks: Buffer[] = [];
  readonly #stream: Stream;
  readonly #onOutput: CommandOptions['onOutput'];
  readonly #decoder = new StringDecoder('utf8');

  constructor(stream: Stream, onOutput: CommandOptions['onOutput']) {
    this.#stream = stream;
    this.#onOutput = onOutput;
  }

  /** Adds a chunk; an arrow so it can be handed out as a callback. */
  readonly push = (chunk: Buffer): void => {
    this.#chunks.push(chunk);
    if (this.#onOutput === undefined) return;
    const text = this.#decoder.write(chunk);
    try {
      if (text !== '') this.#onOutput(this.#stream, text);
    } catch {
      // A failing renderer must not break the command.
    }
  };

  /** Everything collected, as text. */
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
