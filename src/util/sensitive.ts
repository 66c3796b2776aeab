/**
 * A secret value (password, token, key material). It prints as `[sensitive]` through every
 * path that turns values into text (String(), JSON, util.inspect), so a secret can only
 * reach a log or output by someone calling `unwrap()` on purpose. Every string secret is also
 * remembered, so the run log and renderers can scrub it from command output (`redact`).
 */
import { inspect } from 'node:util';

/** The text a redacted secret is replaced with. */
export const REDACTED_TEXT = '[sensitive]';

// Secrets shorter than this are not scrubbed from free text: replacing every "a" would
// destroy the log without protecting anything.
const MIN_SCRUB_LENGTH = 4;
const knownSecrets = new Set<string>();

/** Wraps a secret so that it never serialises; see the file comment. */
export class Sensitive<T = string> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
    if (typeof value === 'string' && value.length >= MIN_SCRUB_LENGTH) knownSecrets.add(value);
  }

  /** The secret itself; call only where it is handed to the host, never to print it. */
  unwrap(): T {
    return this.#value;
  }

  toString(): string {
    return REDACTED_TEXT;
  }

  toJSON(): string {
    return REDACTED_TEXT;
  }

  [inspect.custom](): string {
    return REDACTED_TEXT;
  }
}

/** Replaces every secret this process has seen with `[sensitive]`. */
export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED_TEXT);
  }
  return out;
}

/**
 * `text` cut at every secret this process has seen: plain parts as strings, secrets as
 * `{ secret }`, in order (longer secrets first where two overlap). For code that must keep a
 * secret's place without writing it (`pef plan export` turns each into an environment variable).
 */
export function splitSecrets(text: string): (string | { secret: string })[] {
  const secrets = [...knownSecrets].filter((s) => text.includes(s)).sort((a, b) => b.length - a.length);
  let parts: (string | { secret: string })[] = [text];
  for (const secret of secrets) {
    parts = parts.flatMap((part) => {
      if (typeof part !== 'string' || !part.includes(secret)) return [part];
      return part.split(secret).flatMap((plain, i) => (i === 0 ? [plain] : [{ secret }, plain]));
    });
  }
  return parts.filter((p) => p !== '');
}

/** Registers a secret that did not arrive as a Sensitive (e.g. read from a file on a host). */
export function registerSecret(secret: string): void {
  if (secret.length >= MIN_SCRUB_LENGTH) knownSecrets.add(secret);
}
