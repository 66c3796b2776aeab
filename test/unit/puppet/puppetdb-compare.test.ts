import { describe, expect, it } from '@jest/globals';
import { comparePuppetdb, parseNodeStates, pqlCommand, NODES_QUERY } from '../../../src/puppet/puppetdb-compare.js';

const node = (certname: string, t: string, extra: Record<string, unknown> = {}) => ({
  certname,
  facts_timestamp: t,
  catalog_timestamp: t,
  report_timestamp: t,
  ...extra,
});
const T1 = '2026-12-02T17:00:00.000Z';
const T2 = '2026-12-02T17:05:00.000Z';

describe('comparing PuppetDBs', () => {
  it('finds missing nodes, stale kinds, differing exported resources and nodes ahead on the replica', () => {
    const primary = parseNodeStates(
      JSON.stringify([node('a.lab', T2), node('b.lab', T2), node('c.lab', T1), node('d.lab', T1), node('e.lab', T1)]),
      JSON.stringify([
        { certname: 'a.lab', count: 1 },
        { certname: 'd.lab', count: 2 },
      ]),
      'primary',
    );
    const replica = parseNodeStates(
      JSON.stringify([
        node('a.lab', T2),
        node('b.lab', T2, { report_timestamp: T1 }),
        node('d.lab', T1),
        node('e.lab', T2),
      ]),
      JSON.stringify([
        { certname: 'a.lab', count: 1 },
        { certname: 'd.lab', count: 1 },
      ]),
      'replica',
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
    const p = parseNodeStates(JSON.stringify([node('a.lab', T1, { report_timestamp: null })]), '[]', 'p');
    const r = parseNodeStates(JSON.stringify([node('a.lab', T1, { catalog_timestamp: null })]), '[]', 'r');
    expect(comparePuppetdb(p, r).stale).toEqual([{ certname: 'a.lab', kinds: ['catalog'] }]);
  });

  it('refuses an answer that is not the expected JSON, naming the PuppetDB', () => {
    expect(() => parseNodeStates('<html>', '[]', 'https://r.lab:8081')).toThrow(
      /https:\/\/r\.lab:8081 did not answer JSON/,
    );
    expect(() => parseNodeStates('[{"name":1}]', '[]', 'https://r.lab:8081')).toThrow(/unexpected shape/);
  });

  it('sends the PQL query url-encoded with the host certificate', () => {
    const cmd = pqlCommand({ cert: '/c', key: '/k', ca: '/ca' }, 'https://p.lab:8081', NODES_QUERY);
    expect(cmd).toBe(
      "curl -sS --max-time 30 --cacert /ca --cert /c --key /k --fail-with-body -G --data-urlencode 'query=nodes[certname, facts_timestamp, catalog_timestamp, report_timestamp] {}' https://p.lab:8081/pdb/query/v4",
    );
  });
});
