/**
 * Puppet's packages on a replica at exactly the primary's versions (pe_failover: "The agent must
 * match the version installed on the primary master EXACTLY", installed from packages, never
 * `curl | bash` from the primary). Pure decisions here (what to install, what to refuse), plus
 * the commands that read installed and available versions and install exact versions with the
 * host's own package manager (apt or dnf/yum).
 */
import { shQuote } from '../util/shell-quote.js';

/** The host's package manager family. */
export type PackageManager = 'apt' | 'rpm' | 'unknown';

/** Agent package names: the AIO/PE name first, Debian 11's own second. */
export const AGENT_PACKAGES = ['puppet-agent', 'puppet'] as const;

/** Server packages of open source Puppet (Debian and AIO names of the PuppetDB terminus). */
export const OSS_SERVER_PACKAGES = [
  'puppetserver',
  'puppetdb',
  'puppet-terminus-puppetdb',
  'puppetdb-termini',
] as const;

/** Every name the probe asks about. */
export const ALL_PACKAGES: readonly string[] = [...AGENT_PACKAGES, ...OSS_SERVER_PACKAGES];

/** Installed version per package name; null when not installed. */
export type InstalledVersions = Record<string, string | null>;

/** Prints `manager=apt|rpm|unknown`, then `pkg=<name> <version>` for each installed package of `names`. */
export function installedPackagesCommand(names: readonly string[]): string {
  const list = names.map(shQuote).join(' ');
  return [
    'if command -v dpkg-query >/dev/null 2>&1; then echo manager=apt',
    // db:Status-Abbrev "ii " marks an installed package; "rc" (removed, config left) is not installed.
    `  for p in ${list}; do dpkg-query -W -f='\${db:Status-Abbrev} \${Version}\\n' "$p" 2>/dev/null | awk -v p="$p" '$1=="ii" {print "pkg=" p " " $2}'; done`,
    'elif command -v rpm >/dev/null 2>&1; then echo manager=rpm',
    `  for p in ${list}; do rpm -q --qf '%{VERSION}-%{RELEASE}\\n' "$p" 2>/dev/null | awk -v p="$p" 'NF==1 && !/not installed/ {print "pkg=" p " " $1}'; done`,
    'else echo manager=unknown; fi',
  ].join('\n');
}

/** Reads `installedPackagesCommand` output. */
export function parseInstalledPackages(
  stdout: string,
  names: readonly string[],
): { manager: PackageManager; versions: InstalledVersions } {
  const versions: InstalledVersions = Object.fromEntries(names.map((n) => [n, null]));
  let manager: PackageManager = 'unknown';
  for (const line of stdout.split('\n')) {
    const m = /^manager=(apt|rpm|unknown)$/.exec(line.trim());
    if (m?.[1]) manager = m[1] as PackageManager;
    const p = /^pkg=(\S+) (\S+)$/.exec(line.trim());
    if (p?.[1] && p[2] && p[1] in versions) versions[p[1]] = p[2];
  }
  return { manager, versions };
}

/** Prints `avail=<name> <version>` for every version the repositories offer for `names`. */
export function availableVersionsCommand(manager: PackageManager, names: readonly string[]): string {
  const list = names.map(shQuote).join(' ');
  if (manager === 'apt') {
    return `for p in ${list}; do apt-cache madison "$p" 2>/dev/null | awk -F'|' -v p="$p" '{gsub(/ /,"",$1); gsub(/ /,"",$2); if ($1==p) print "avail=" p " " $2}'; done; true`;
  }
  if (manager === 'rpm') {
    // dnf/yum print "name.arch  [epoch:]version-release  repo"; the epoch is dropped to match rpm -q.
    return (
      `if command -v dnf >/dev/null 2>&1; then L="dnf -q list --showduplicates --available"; else L="yum -q list --showduplicates available"; fi; ` +
      `for p in ${list}; do $L "$p" 2>/dev/null | awk -v p="$p" '{n=$1; sub(/\\.[^.]*$/,"",n); v=$2; sub(/^[0-9]+:/,"",v); if (n==p) print "avail=" p " " v}'; done; true`
    );
  }
  return 'true';
}

/** Reads `availableVersionsCommand` output. */
export function parseAvailableVersions(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of stdout.split('\n')) {
    const m = /^avail=(\S+) (\S+)$/.exec(line.trim());
    if (!m?.[1] || !m[2]) continue;
    const list = (out[m[1]] ??= []);
    if (!list.includes(m[2])) list.push(m[2]);
  }
  return out;
}

/** One package to install at an exact version. */
export interface PackageInstall {
  name: string;
  version: string;
  /** What the replica has now (null: not installed). */
  from: string | null;
  downgrade: boolean;
}

/** A package whose wanted version cannot be installed. */
export interface PackageRefusal {
  name: string;
  wanted: string;
  have: string | null;
  available: string[];
  why: string;
}

/** The decision for a replica. */
export interface PackagePlan {
  /** Packages the primary has, with its version: what the replica must match. */
  wanted: Record<string, string>;
  matching: string[];
  install: PackageInstall[];
  refuse: PackageRefusal[];
}

/**
 * Decides what the replica needs: every agent package and (for `oss`) server package installed on
 * the primary, at the primary's exact version. A version the replica's repositories do not offer
 * is refused (with what they do offer); so is a downgrade unless `allowDowngrade`, because a newer
 * PuppetDB may already have migrated its database past what the older one understands.
 */
export function planPackages(input: {
  flavor: 'oss' | 'pe';
  primary: InstalledVersions;
  replica: InstalledVersions;
  available: Record<string, string[]>;
  allowDowngrade: boolean;
}): PackagePlan {
  const names = input.flavor === 'pe' ? [...AGENT_PACKAGES] : [...AGENT_PACKAGES, ...OSS_SERVER_PACKAGES];
  const wanted: Record<string, string> = {};
  for (const name of names) {
    const version = input.primary[name];
    if (version) wanted[name] = version;
  }
  const plan: PackagePlan = { wanted, matching: [], install: [], refuse: [] };
  for (const [name, version] of Object.entries(wanted)) {
    const have = input.replica[name] ?? null;
    if (have === version) {
      plan.matching.push(name);
      continue;
    }
    const available = input.available[name] ?? [];
    const downgrade = have !== null && compareVersions(have, version) > 0;
    if (!available.includes(version)) {
      plan.refuse.push({
        name,
        wanted: version,
        have,
        available,
        why: available.length
          ? `the replica's repositories offer ${available.join(', ')}, not ${version}`
          : "the replica's repositories do not offer this package",
      });
    } else if (downgrade && !input.allowDowngrade) {
      plan.refuse.push({
        name,
        wanted: version,
        have,
        available,
        why: `the replica has the newer ${have}; downgrading needs allow_downgrade=true`,
      });
    } else {
      plan.install.push({ name, version, from: have, downgrade });
    }
  }
  return plan;
}

/** The command installing `items` at their exact versions. */
export function installPackagesCommand(manager: PackageManager, items: readonly PackageInstall[]): string {
  if (manager === 'apt') {
    const downgrade = items.some((i) => i.downgrade) ? ' --allow-downgrades' : '';
    return `DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends${downgrade} ${items.map((i) => shQuote(`${i.name}=${i.version}`)).join(' ')}`;
  }
  const up = items.filter((i) => !i.downgrade).map((i) => shQuote(`${i.name}-${i.version}`));
  const down = items.filter((i) => i.downgrade).map((i) => shQuote(`${i.name}-${i.version}`));
  const y = 'Y=$(command -v dnf || command -v yum)';
  return [
    y,
    ...(up.length ? [`"$Y" -y install ${up.join(' ')}`] : []),
    ...(down.length ? [`"$Y" -y downgrade ${down.join(' ')}`] : []),
  ].join(' && ');
}

/**
 * Compares package versions the way dpkg does (epoch, upstream version, revision; `~` sorts
 * before everything); good enough for rpm's version-release as well. <0, 0, >0.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string): [number, string, string] => {
    const colon = v.indexOf(':');
    const epoch = colon > 0 && /^\d+$/.test(v.slice(0, colon)) ? Number(v.slice(0, colon)) : 0;
    const rest = colon > 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf('-');
    return dash < 0 ? [epoch, rest, ''] : [epoch, rest.slice(0, dash), rest.slice(dash + 1)];
  };
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  if (ea !== eb) return ea - eb;
  return verrevcmp(ua, ub) || verrevcmp(ra, rb);
}

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/\d/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

// dpkg's verrevcmp: alternating non-digit and digit runs.
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /\d/.test(a[i]!) && j < b.length && /\d/.test(b[j]!)) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /\d/.test(a[i]!)) return 1;
    if (j < b.length && /\d/.test(b[j]!)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}
