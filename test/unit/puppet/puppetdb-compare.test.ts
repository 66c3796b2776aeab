import { describe, expect, it } from '@jest/globals';
import {
  comparePuppetdb,
  parseNodeStates,
  pqlCommand,
  PUPPETDB_QUERIES,
} from '../../../src/puppet/puppetdb-compare.js';

type Kind = 'facts' | 'catalog' | 'report';
const node = (certname: string, t: string, extra: Partial<Record<Kind, string | null>> = {}) => ({
  certname,
  facts: t,
  catalog: t,
  report: t,
  ...extra,
});
type Node = ReturnType<typeof node>;
// One PuppetDB's answers to the queries, as it would print them.
const states = (nodes: Node[], exported: { certname: string; count: number }[] = [], where = 'p') => {
  const produced = (kind: Kind) =>
    JSON.stringify(
      nodes.filter((n) => n[kind] !== null).map((n) => ({ certname: n.certname, producer_timestamp: n[kind] })),
    );
  return parseNodeStates(
    {
      nodes: JSON.stringify(nodes.map((n) => ({ certname: n.certname }))),
      facts: produced('facts'),
      catalog: produced('catalog'),
      report: produced('report'),
      exported: JSON.stringify(exported),
    },
    where,
  );
};
const T1 = '2026-12-02T17:00:00.000Z';
const T2 = '2026-12-02T17:05:00.000Z';

describe('comparing PuppetDBs', () => {
  it('finds missing nodes, stale kinds, differing exported resources and nodes ahead on the replica', () => {
    const primary = states(
      [node('a.lab', T2), node('b.lab', T2), node('c.lab', T1), node('d.lab', T1), node('e.lab', T1)],
      [
        { certname: 'a.lab', count: 1 },
        { certname: 'd.lab', count: 2 },
      ],
    );
    const replica = states(
      [node('a.lab', T2), node('b.lab', T2, { report: T1 }), node('d.lab', T1), node('e.lab', T2)],
      [
        { certname: 'a.lab', count: 1 },
        { certname: 'd.lab', count: 1 },
      ],
    );
    expect(comparePuppetdb(primary, replica)).toEqual({
      missing: ['c.lab'],
      stale: [
        { certname: 'b.lab', kinds: ['report'] },
        { certname: 'd.lab', kinds: ['exported'] },
      ],
      ahead: ['e.lab'],
      lag: 3,
      nodes: { primary: 5, replica: 4 },
    });
    expect(comparePuppetdb(primary, primary).lag).toBe(0);
  });

  it('counts a kind the replica never got as stale, and one the primary lacks as nothing', () => {
    const p = states([node('a.lab', T1, { report: null })]);
    const r = states([node('a.lab', T1, { catalog: null })]);
    expect(comparePuppetdb(p, r).stale).toEqual([{ certname: 'a.lab', kinds: ['catalog'] }]);
  });

  it('reads only active nodes: the factset or catalog of a deactivated node is not a node', () => {
    const p = parseNodeStates(
      {
        nodes: '[{"certname":"a.lab"}]',
        facts: `[{"certname":"a.lab","producer_timestamp":"${T1}"},{"certname":"gone.lab","producer_timestamp":"${T2}"}]`,
        catalog: `[{"certname":"gone.lab","producer_timestamp":"${T2}"}]`,
        report: '[]',
        exported: '[]',
      },
      'p',
    );
    expect([...p.values()]).toEqual([{ certname: 'a.lab', facts: T1, catalog: null, report: null, exported: 0 }]);
  });

  it('refuses an answer that is not the expected JSON, naming the PuppetDB', () => {
    const answers = { nodes: '[]', facts: '[]', catalog: '[]', report: '[]', exported: '[]' };
    expect(() => parseNodeStates({ ...answers, nodes: '<html>' }, 'https://r.lab:8081')).toThrow(
      /https:\/\/r\.lab:8081 did not answer JSON/,
    );
    expect(() => parseNodeStates({ ...answers, catalog: '[{"name":1}]' }, 'https://r.lab:8081')).toThrow(
      /unexpected shape/,
    );
  });

  it('sends the PQL query url-encoded with the host certificate', () => {
    const cmd = pqlCommand({ cert: '/c', key: '/k', ca: '/ca' }, 'https://p.lab:8081', PUPPETDB_QUERIES.report);
    expect(cmd).toBe(
      "curl -sS --max-time 30 --cacert /ca --cert /c --key /k --fail-with-body -G --data-urlencode 'query=reports[certname, producer_timestamp] { latest_report? = true }' https://p.lab:8081/pdb/query/v4",
    );
  });
});
