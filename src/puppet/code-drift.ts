/**
 * Code drift between the primary and the replica: each Puppet environment under
 * `<codedir>/environments` summed up as one sha256 over its files' paths and contents, so two
 * servers can be compared with a line per environment instead of copying anything.
 */
import { parseKeyValues } from '../util/key-value.js';
import { shQuote } from '../util/shell-quote.js';

/** Prints `env.<name>=<sha256>` per environment directory; nothing when there is none. */
export function environmentsDigestCommand(codedir: string): string {
  return [
    `cd ${shQuote(`${codedir}/environments`)} 2>/dev/null || exit 0`,
    'for e in */; do',
    '  [ -d "$e" ] || continue; e=${e%/}',
    '  d=$(cd "$e" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-64)',
    '  echo "env.$e=$d"',
    'done',
  ].join('\n');
}

/** Reads environmentsDigestCommand's output: environment → digest. */
export function parseEnvironmentDigests(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of parseKeyValues(stdout)) if (key.startsWith('env.')) out.set(key.slice(4), value);
  return out;
}

/** One environment that differs: its digest on each side (null where it is missing). */
export interface EnvironmentDrift {
  environment: string;
  primary: string | null;
  replica: string | null;
}

/** The environments whose content differs between the two servers, sorted by name. */
export function codeDrift(primary: Map<string, string>, replica: Map<string, string>): EnvironmentDrift[] {
  const names = [...new Set([...primary.keys(), ...replica.keys()])].sort();
  return names
    .filter((n) => primary.get(n) !== replica.get(n))
    .map((n) => ({ environment: n, primary: primary.get(n) ?? null, replica: replica.get(n) ?? null }));
}

/**
 * On the receiver: installs `incoming/<name>/` (what rsyncToReceiver carried) as the environments
 * dir, owned by root and readable by all as Puppet's code is, deleting what the primary lacks.
 * The staging copy is read without following links out of it (rsync's own --safe-links).
 */
export function installEnvironmentsCommand(staged: string, codedir: string): string {
  return `[ -d ${shQuote(staged)} ] && [ ! -L ${shQuote(staged)} ] || { echo "pef: ${staged} is missing" >&2; exit 3; }
install -d -m 755 ${shQuote(`${codedir}/environments`)}
rsync -rlt --safe-links --delete --chmod=D755,F644 --no-owner --no-group ${shQuote(`${staged}/`)} ${shQuote(`${codedir}/environments/`)}`;
}
