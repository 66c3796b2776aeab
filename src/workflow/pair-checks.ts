/**
 * Whether a primary and a would-be replica make a usable warm-spare pair: the verdicts `setup`
 * (and later switchover/failover) show before changing anything. Pure: the facts come from
 * discovery and a few measurements on both hosts (src/host/discover.ts, pairMeasureCommand), so the
 * rules can be read and tested without a host. An `error` stops the plan; a `warning` is shown
 * with its fix and the plan goes on; `ok` says what was checked.
 */
import type { HostFacts } from '../host/discover.js';
import { shQuote } from '../util/shell-quote.js';

/** One check's verdict. */
export interface PairFinding {
  check: 'flavor' | 'versions' | 'dns_alt_names' | 'disk' | 'clock';
  status: 'ok' | 'warning' | 'error';
  message: string;
}

/** What was measured on the hosts besides discovery. */
export interface PairMeasurements {
  /** KiB the primary's CA and databases take (what the replica will hold, about). */
  primaryDataKb: number;
  /** KiB free on the replica where the copies land (/var/lib). */
  replicaFreeKb: number;
  /** Seconds between the two hosts' clocks, corrected for the time the probes took. */
  clockSkewS: number;
}

/** The most clock skew a pair may have: certificates and the CRL are time-checked. */
export const MAX_CLOCK_SKEW_S = 60;

/** The verdicts for a pair; see the file comment. */
export function pairFindings(primary: HostFacts, replica: HostFacts, measured: PairMeasurements): PairFinding[] {
  return [
    flavorFinding(primary, replica),
    versionsFinding(primary, replica),
    altNamesFinding(primary),
    diskFinding(measured),
    clockFinding(measured),
  ];
}

function flavorFinding(primary: HostFacts, replica: HostFacts): PairFinding {
  if (primary.flavor !== replica.flavor)
    return {
      check: 'flavor',
      status: 'error',
      message: `the primary runs ${flavorName(primary)} and the replica ${flavorName(replica)}: a warm spare must be the same flavor. Install ${flavorName(primary)} on the replica first.`,
    };
  if (primary.flavor === 'pe' && primary.peVersion !== replica.peVersion)
    return {
      check: 'flavor',
      status: 'error',
      message: `PE ${primary.peVersion ?? '?'} on the primary but ${replica.peVersion ?? 'none'} on the replica: install PE ${primary.peVersion ?? ''} on the replica (the PE installer), then run setup again.`,
    };
  return { check: 'flavor', status: 'ok', message: `both ${flavorName(primary)}` };
}

function versionsFinding(primary: HostFacts, replica: HostFacts): PairFinding {
  const kinds = ['agent', 'server', 'puppetdb'] as const;
  const differ = kinds.filter((k) => primary.versions[k] !== null && primary.versions[k] !== replica.versions[k]);
  if (differ.length === 0)
    return { check: 'versions', status: 'ok', message: `agent ${primary.versions.agent ?? '?'} on both` };
  const list = differ.map((k) => `${k} ${primary.versions[k]} vs ${replica.versions[k] ?? 'none'}`).join(', ');
  // install_agent brings an oss replica to the primary's versions; PE's server side comes from its installer.
  return primary.flavor === 'oss' || differ.every((k) => k === 'agent')
    ? {
        check: 'versions',
        status: 'warning',
        message: `${list}: the install_agent step installs the primary's versions`,
      }
    : {
        check: 'versions',
        status: 'error',
        message: `${list}: upgrade PE on the replica to the primary's version with the PE installer`,
      };
}

function altNamesFinding(primary: HostFacts): PairFinding {
  const shared = primary.dnsAltNames.filter((n) => n !== primary.certname && !n.startsWith('IP:'));
  if (shared.length > 0)
    return {
      check: 'dns_alt_names',
      status: 'ok',
      message: `agents can use ${shared.join(', ')} for either server (the replica's certificate will carry it)`,
    };
  return {
    check: 'dns_alt_names',
    status: 'warning',
    message:
      `the primary's certificate names only ${primary.certname}: agents that reach the primary by that name will not trust the replica under it after a failover. ` +
      `Give the primary a common name (e.g. puppet.<domain>) with \`puppetserver ca generate --certname ${primary.certname} --dns_alt_names puppet,puppet.<domain>\` (after cleaning its certificate), point agents at that name or at a server_list, and run setup again.`,
  };
}

function diskFinding(m: PairMeasurements): PairFinding {
  const needed = 2 * m.primaryDataKb;
  const text = `${mib(m.replicaFreeKb)} free on the replica's /var/lib, ${mib(m.primaryDataKb)} of CA and databases on the primary`;
  return m.replicaFreeKb >= needed
    ? { check: 'disk', status: 'ok', message: text }
    : {
        check: 'disk',
        status: 'error',
        message: `${text}: a copy needs twice that (staging and the swap), ${mib(needed)}. Free space on the replica's /var/lib.`,
      };
}

function clockFinding(m: PairMeasurements): PairFinding {
  const skew = Math.abs(m.clockSkewS);
  return skew < MAX_CLOCK_SKEW_S
    ? { check: 'clock', status: 'ok', message: `clocks ${skew.toFixed(1)}s apart` }
    : {
        check: 'clock',
        status: 'error',
        message: `the clocks are ${skew.toFixed(0)}s apart (at most ${MAX_CLOCK_SKEW_S}s): certificates and CRLs copied across would not be valid yet or already expired on one side. Run NTP (chrony/systemd-timesyncd) on both.`,
      };
}

/**
 * Prints `data_kb=` (the CA dir and every database, in KiB) and `free_kb=` (free in /var/lib), and
 * `clock=` (epoch seconds with nanoseconds) last, so the clock is read as late as possible.
 */
export function pairMeasureCommand(facts: HostFacts): string {
  const db = facts.postgres.bin
    ? `cd / && runuser -u ${shQuote(facts.postgres.superuser)} -- ${shQuote(`${facts.postgres.bin}/psql`)} -X -Atc 'select (coalesce(sum(pg_database_size(datname)),0)/1024)::bigint from pg_database' 2>/dev/null || echo 0`
    : 'echo 0';
  const ca = facts.paths.cadir ? `du -sk ${shQuote(facts.paths.cadir)} 2>/dev/null | cut -f1 || echo 0` : 'echo 0';
  return [
    `ca=$(${ca}); db=$(${db})`,
    'echo "data_kb=$(( ${ca:-0} + ${db:-0} ))"',
    `df -Pk /var/lib | awk 'NR==2 {print "free_kb=" $4}'`,
    'echo "clock=$(date +%s.%N)"',
  ].join('\n');
}

function flavorName(facts: HostFacts): string {
  return facts.flavor === 'pe'
    ? `Puppet Enterprise${facts.peVersion ? ` ${facts.peVersion}` : ''}`
    : 'open source Puppet';
}

function mib(kb: number): string {
  return `${(kb / 1024).toFixed(0)} MiB`;
}
