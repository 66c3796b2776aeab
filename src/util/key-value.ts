/**
 * The one reader for `key=value` text: pef's own state files (/etc/pef/mode, the kill-switch) and
 * the probes pef runs on hosts, which print one `key=value` line per fact. A line is split at its
 * first `=`, so values may contain `=`; key and value are trimmed; lines starting with `#` (after
 * blanks), lines without `=` and lines with an empty key are skipped; the last value of a key wins.
 */

/** Reads `key=value` lines into a map; see the file comment for the rules. */
export function parseKeyValues(text: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    if (key) kv.set(key, line.slice(eq + 1).trim());
  }
  return kv;
}
