/**
 * Comparing two PuppetDBs (compare_puppetdb): what the replica's PuppetDB lacks next to the
 * primary's. Both are asked the same PQL queries over https with the host's certificate: the
 * active nodes with the producer timestamps of their latest facts, catalog and report (the
 * terminus stamps a command once and broadcasts the same command to both, so equal data means
 * equal timestamps), and the exported resources per node. A node the replica does not have is
 * `missing`; one whose latest facts, catalog or report there is older, or whose exported
 * resources differ in number, is `stale`. `lag` counts both: the nodes a reseed must bring back.
 */
import { z } from 'zod';
import { PefError } from '../errors/pef-error.js';
import { curlWithCert, type HostTls } from './replica-servers.js';

/** The PQL query for each active node's latest data. */
export const NODES_QUERY = 'nodes[certname, facts_timestamp, catalog_timestamp, report_timestamp] {}';

/** The PQL query counting exported resources per node. */
export const EXPORTED_QUERY = 'resources[certname, count()] { exported = true group by certname }';

/** A GET of a PQL query on the PuppetDB at `baseUrl`, with the host's certificate; prints the JSON. */
export function pqlCommand(tls: HostTls, baseUrl: string, query: string): string {
  return curlWithCert(tls, `${baseUrl}/pdb/query/v4`, ['--fail-with-body', '-G', '--data-urlencode', `query=${query}`]);
}

const nodeRow = z.object({
  certname: z.string(),
  facts_timestamp: z.string().nullable().optional(),
  catalog_timestamp: z.string().nullable().optional(),
  report_timestamp: z.string().nullable().optional(),
});
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

/** Reads the answers to NODES_QUERY and EXPORTED_QUERY from the PuppetDB `where` into node states. */
export function parseNodeStates(nodesJson: string, exportedJson: string, where: string): Map<string, NodeState> {
  const nodes = parseJson(nodesJson, z.array(nodeRow), where);
  const exported = new Map(parseJson(exportedJson, z.array(exportedRow), where).map((r) => [r.certname, r.count]));
  return new Map(
    nodes.map((n) => [
      n.certname,
      {
        certname: n.certname,
        facts: n.facts_timestamp ?? null,
        catalog: n.catalog_timestamp ?? null,
        report: n.report_timestamp ?? null,
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
