/**
 * Comparing two PuppetDBs (compare_puppetdb): what the replica's PuppetDB lacks next to the
 * primary's. Both are asked the same PQL queries over https with the host's certificate: the
 * active nodes, the producer timestamps of their latest facts, catalog and report (the terminus
 * stamps a command once and broadcasts the same command to both, so equal data means equal
 * producer timestamps; the nodes endpoint's facts_timestamp and catalog_timestamp are each
 * PuppetDB's own receive times, which differ between the two copies of one broadcast), and the
 * exported resources per node. A node the replica does not have is
 * `missing`; one whose latest facts, catalog or report there is older, or whose exported
 * resources differ in number, is `stale`. `lag` counts both: the nodes a reseed must bring back.
 */
import { z } from 'zod';
import { PefError } from '../errors/pef-error.js';
import { curlWithCert, type HostTls } from './replica-servers.js';

/** The PQL queries asked of each PuppetDB, by what they read. */
export const PUPPETDB_QUERIES = {
  /** The active nodes (the nodes endpoint leaves deactivated and expired ones out). */
  nodes: 'nodes[certname] {}',
  facts: 'factsets[certname, producer_timestamp] {}',
  catalog: 'catalogs[certname, producer_timestamp] {}',
  report: 'reports[certname, producer_timestamp] { latest_report? = true }',
  /** Exported resources per node. */
  exported: 'resources[certname, count()] { exported = true group by certname }',
} as const;

/** The answers to PUPPETDB_QUERIES from one PuppetDB, as JSON text. */
export type PuppetdbAnswers = Record<keyof typeof PUPPETDB_QUERIES, string>;

/** A GET of a PQL query on the PuppetDB at `baseUrl`, with the host's certificate; prints the JSON. */
export function pqlCommand(tls: HostTls, baseUrl: string, query: string): string {
  return curlWithCert(tls, `${baseUrl}/pdb/query/v4`, ['--fail-with-body', '-G', '--data-urlencode', `query=${query}`]);
}

const nodeRow = z.object({ certname: z.string() });
const producedRow = z.object({ certname: z.string(), producer_timestamp: z.string().nullable().optional() });
const exportedRow = z.object({ certname: z.string(), count: z.number().int() });

/** One node's latest data, as PuppetDB reports it. */
export interface NodeState {
  certname: string;
  facts: string | null;
  catalog: string | null;
  report: string | null;
  exported: number;
}

function parseJson<T>(text: string, schema: z.ZodType<T>, where: string): T {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new PefError('pef/task-failed', `${where} did not answer JSON: ${JSON.stringify(text.slice(0, 200))}`, {
      where,
    });
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success)
    throw new PefError('pef/task-failed', `${where} answered an unexpected shape: ${parsed.error.message}`, { where });
  return parsed.data;
}

/** Reads one PuppetDB's answers to PUPPETDB_QUERIES (`where` names it in errors) into node states. */
export function parseNodeStates(answers: PuppetdbAnswers, where: string): Map<string, NodeState> {
  const nodes = parseJson(answers.nodes, z.array(nodeRow), where);
  const produced = (json: string) =>
    new Map(parseJson(json, z.array(producedRow), where).map((r) => [r.certname, r.producer_timestamp ?? null]));
  const [facts, catalog, report] = [produced(answers.facts), produced(answers.catalog), produced(answers.report)];
  const exported = new Map(parseJson(answers.exported, z.array(exportedRow), where).map((r) => [r.certname, r.count]));
  return new Map(
    nodes.map((n) => [
      n.certname,
      {
        certname: n.certname,
        facts: facts.get(n.certname) ?? null,
        catalog: catalog.get(n.certname) ?? null,
        report: report.get(n.certname) ?? null,
        exported: exported.get(n.certname) ?? 0,
      },
    ]),
  );
}

/** A node the replica holds older data for, and which kinds. */
export interface StaleNode {
  certname: string;
  kinds: ('facts' | 'catalog' | 'report' | 'exported')[];
}

/** What the replica lacks: see the file comment. `ahead` lists nodes newer on the replica (the primary's PuppetDB was down). */
export interface PuppetdbComparison {
  missing: string[];
  stale: StaleNode[];
  ahead: string[];
  lag: number;
  nodes: { primary: number; replica: number };
}

const older = (replica: string | null, primary: string | null): boolean =>
  primary !== null && (replica === null || Date.parse(replica) < Date.parse(primary));

/** Compares the primary's node states with the replica's. */
export function comparePuppetdb(primary: Map<string, NodeState>, replica: Map<string, NodeState>): PuppetdbComparison {
  const missing: string[] = [];
  const stale: StaleNode[] = [];
  const ahead: string[] = [];
  for (const [certname, p] of [...primary].sort(([a], [b]) => a.localeCompare(b))) {
    const r = replica.get(certname);
    if (!r) {
      missing.push(certname);
      continue;
    }
    const kinds: StaleNode['kinds'] = [];
    for (const kind of ['facts', 'catalog', 'report'] as const) if (older(r[kind], p[kind])) kinds.push(kind);
    if (!kinds.includes('catalog') && r.exported !== p.exported) kinds.push('exported');
    if (kinds.length > 0) stale.push({ certname, kinds });
    else if ((['facts', 'catalog', 'report'] as const).some((k) => older(p[k], r[k]))) ahead.push(certname);
  }
  return {
    missing,
    stale,
    ahead,
    lag: missing.length + stale.length,
    nodes: { primary: primary.size, replica: replica.size },
  };
}
