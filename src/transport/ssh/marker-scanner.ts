/**
 * Finds the end marker `<prefix><status>\n` in one output stream of the persistent shell and
 * passes everything before it on as it arrives. Bytes that could be the start of the marker
 * are held back until the next chunk shows whether they are, so no marker text ever reaches
 * the caller's output, however the stream is split.
 */

/** Scans one stream; see the file comment. */
export class MarkerScanner {
  readonly #prefix: Buffer;
  readonly #onData: (chunk: Buffer) => void;
  #pending: Buffer = Buffer.alloc(0);
  readonly #passAfter: boolean;
  #status: string | undefined;

  constructor(prefix: string, onData: (chunk: Buffer) => void, passAfter = false) {
    this.#prefix = Buffer.from(prefix, 'latin1');
    this.#onData = onData;
    this.#passAfter = passAfter;
  }

  /** The text between the prefix and the newline, once the marker has been seen. */
  get status(): string | undefined {
    return this.#status;
  }

  /** Feeds a chunk; returns true once the whole marker has been seen. Later data is dropped unless `passAfter`. */
  push(chunk: Buffer): boolean {
    if (this.#status !== undefined) {
      if (this.#passAfter && chunk.length > 0) this.#onData(chunk);
      return true;
    }
    const data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const at = data.indexOf(this.#prefix);
    if (at >= 0) {
      if (at > 0) this.#onData(data.subarray(0, at));
      const end = data.indexOf(0x0a, at + this.#prefix.length);
      if (end < 0) {
        this.#pending = data.subarray(at);
        return false;
      }
      this.#status = data.subarray(at + this.#prefix.length, end).toString('latin1');
      this.#pending = Buffer.alloc(0);
      if (this.#passAfter && end + 1 < data.length) this.#onData(data.subarray(end + 1));
      return true;
    }
    const keep = partialPrefixLength(data, this.#prefix);
    if (data.length > keep) this.#onData(data.subarray(0, data.length - keep));
    this.#pending = Buffer.from(data.subarray(data.length - keep));
    return false;
  }
}

// The longest tail of `data` that is a head of `prefix`: it may continue into the marker.
function partialPrefixLength(data: Buffer, prefix: Buffer): number {
  for (let k = Math.min(prefix.length - 1, data.length); k > 0; k--) {
    if (data.subarray(data.length - k).equals(prefix.subarray(0, k))) return k;
  }
  return 0;
}
