/**
 * Building shell command text safely. Every value that goes into a command sent to a host passes
 * through `sh` here, so a path or name with spaces or quotes can never change what runs.
 */

/** Quotes one word for POSIX sh: safe words stay bare, everything else is single-quoted. */
export function sh(word: string | number): string {
  const text = String(word);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Joins words into one command, quoting each. */
export function shJoin(words: readonly (string | number)[]): string {
  return words.map(sh).join(' ');
}
