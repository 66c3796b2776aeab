/**
 * `puppet infrastructure status --format json` read into one shape (see pe-infrastructure.ts's
 * file comment for what PE's JSON says and does not). Separate from pe-infrastructure.ts, which
 * keeps the commands that change things, the token and the failure messages; this file only reads.
 * It imports PE_PUPPET from there and is imported back: neither uses the other at load time.
 */
import { PefError } from '../errors/pef-error.js';
import { redact } from '../util/sensitive.js';
import { PE_PUPPET } from './pe-infrastructure.js';

/** A replica as `puppet infrastructure status` shows it (PE's JSON says no more: not whether it is enabled). */
export interface InfraReplica {
  certname: string;
}

/** One service entry of the status. */
export interface InfraService {
  service: string;
  display_name: string;
  server: string;
  state: string;
}

/** `puppet infrastructure status --format json`, read. */
export interface InfraStatus {
  /** The primary's certname; null when the status does not say. */
  primary: string | null;
  replicas: InfraReplica[];
  services: InfraService[];
}

/** The read-only status command. */
export function infraStatusCommand(): string {
  return `${PE_PUPPET} infrastructure status --format json`;
}

/** Reads PE's status JSON; throws `pef/task-failed` naming `host` when it is not PE's array of service entries. */
export function parseInfraStatus(stdout: string, host: string): InfraStatus {
  // PE may print notices before the document; the JSON starts at the first line opening one.
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('{') || l.startsWith('['));
  let doc: unknown;
  try {
    if (start < 0) throw new Error('no JSON document in the output');
    doc = JSON.parse(lines.slice(start).join('\n'));
  } catch (error) {
    const first = stdout.trim().split('\n')[0] ?? '';
    throw new PefError(
      'pef/task-failed',
      `Could not read \`${infraStatusCommand()}\` on ${host}: ${(error as Error).message}${first ? ` (output began: ${JSON.stringify(redact(first).slice(0, 160))})` : ' (no output)'}. Is this a PE primary or replica with PE's services running?`,
      { host },
    );
  }
  if (Array.isArray(doc)) return parsePeStatus(doc);
  throw new PefError(
    'pef/task-failed',
    `\`${infraStatusCommand()}\` on ${host} printed JSON pef does not know (not PE's array of service entries).`,
    { host },
  );
}

function parsePeStatus(entries: unknown[]): InfraStatus {
  const services: InfraService[] = [];
  const byMode = new Map<string, Set<string>>();
  const dataServers = new Set<string>();
  for (const entry of entries) {
    if (!isRecord(entry)) continue;
    const server = str(entry['server']);
    if (!server) continue;
    services.push({
      service: str(entry['service']),
      display_name: str(entry['display_name']),
      server,
      state: str(entry['state']),
    });
    const status = entry['status'];
    const replication = isRecord(status) ? status['replication'] : undefined;
    const mode = isRecord(replication) ? str(replication['mode']) : '';
    if (mode) byMode.set(mode, (byMode.get(mode) ?? new Set()).add(server));
    // Only the primary and its replica run the console's services; compilers run the rest.
    if (['classifier', 'rbac', 'activity'].includes(str(entry['type']))) dataServers.add(server);
  }
  const sources = [...(byMode.get('source') ?? [])];
  const primary = sources.length === 1 ? (sources[0] ?? null) : null;
  const replicaNames = new Set(byMode.get('replica') ?? []);
  if (primary !== null) for (const s of dataServers) if (s !== primary) replicaNames.add(s);
  return { primary, replicas: [...replicaNames].sort().map((certname) => ({ certname })), services };
}

/** The status entry for `certname`, if it is a replica. */
export function findReplica(status: InfraStatus, certname: string): InfraReplica | undefined {
  return status.replicas.find((r) => r.certname === certname);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
