/**
 * Matching names the way Bolt does on the command line (case-insensitive globs with `*`, `?`
 * and `[...]`), and "did you mean" suggestions for names and keys that match nothing.
 */

/** True when `name` has glob characters. */
export function isGlob(name: string): boolean {
  return /[*?[]/.test(name);
}

/** A case-insensitive matcher for a glob (`*`, `?`, `[abc]`, `[a-z]`, `[!a]`); a plain name matches itself. */
export function globMatcher(pattern: string): (name: string) => boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  const re = new RegExp(`^${source}$`, 'i');
  return (name) => re.test(name);
}

/** Up to `limit` of `candidates` close to `wanted`, best first: a small edit distance, containing it, or a prefix of it. */
export function nearNames(wanted: string, candidates: Iterable<string>, limit = 3): string[] {
  const w = normalize(wanted);
  const scored: { name: string; score: number }[] = [];
  for (const name of new Set(candidates)) {
    const n = normalize(name);
    const distance = editDistance(w, n);
    const budget = w.length <= 3 ? 1 : 2;
    if (distance <= budget) scored.push({ name, score: distance });
    else if (w.length >= 3 && n.includes(w)) scored.push({ name, score: budget + 1 });
    else if (n.length >= 3 && w.startsWith(n)) scored.push({ name, score: budget + 2 });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((s) => s.name);
}

// `host_key_check` and `Host-Key-Check` both mean `host-key-check`.
function normalize(s: string): string {
  return s.toLowerCase().replace(/_/g, '-');
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
