/**
 * Quoting for POSIX sh. Every value that goes into command text sent to a host passes through
 * `shQuote`, so a path, name or command with spaces, quotes or `$(...)` can never change what runs.
 */

/** Quotes one word for POSIX sh: safe words stay bare (readable noop output), the rest single-quoted. */
export function shQuote(word: string | number): string {
  const text = String(word);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Joins words into one command, quoting each. */
export function shJoin(words: readonly (string | number)[]): string {
  return words.map(shQuote).join(' ');
}
