/**
 * compare_puppetdb (open-source Puppet): run on the primary with receiver=<replica>. Asks both
 * PuppetDBs (PQL over https with the primary's certificate) for their active nodes and what the
 * replica lacks: `missing` nodes, `stale` nodes (older facts, catalog or report, or a different
 * number of exported resources) and `lag`, the number of nodes a reseed (dump_db/restore_db of the
 * puppetdb database) would bring back. Read-only.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverPair } from '../src/host/discover-pair.js';
import { comparePuppetdb, parseNodeStates, pqlCommand, PUPPETDB_QUERIES } from '../src/puppet/puppetdb-compare.js';
import { puppetdbUrl } from '../src/puppet/puppetdb-conf.js';
import { hostTlsCommand, parseHostTls } from '../src/puppet/replica-servers.js';
import { defineTask } from '../src/task/task.js';

/** Compares the two PuppetDBs; see the file comment. */
export const comparePuppetdbTask = defineTask({
  name: 'compare_puppetdb',
  description: "Report the nodes the replica's PuppetDB lacks or holds older data for (lag)",
  details: `Run on the primary with receiver=<replica>. Value: { missing: [certname], stale: [{certname, kinds}],
ahead: [certname], lag: N, nodes: {primary, replica} }. lag > 0 means a reseed (dump_db/restore_db of
puppetdb) is due. Fails when either PuppetDB does not answer (an unknown state is never reported as lag 0).`,
  params: z.object({
    receiver: z.string().min(1).describe('inventory name of the replica'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const replica = await ctx.peer(ctx.params.receiver);
    const pair = await discoverPair(ctx, replica, { task: 'compare_puppetdb' });
    const [pf, primary, other] = [pair.primary.facts, pair.primary.certname, pair.replica.certname];
    const tls = parseHostTls((await ctx.read(hostTlsCommand(pf.paths.puppet))).stdout);
    if (!tls)
      throw new PefError(
        'pef/task-failed',
        `compare_puppetdb: could not read ${ctx.target.name}'s certificate paths (puppet config print hostcert)`,
        {},
      );
    const states = async (certname: string) => {
      const base = puppetdbUrl(certname);
      const ask = async (query: string) => {
        const out = await ctx.read(pqlCommand(tls, base, query), { okExitCodes: [0, 6, 7, 22, 28, 35, 52, 56, 60] });
        if (out.exitCode !== 0)
          throw new PefError(
            'pef/task-failed',
            `compare_puppetdb: the PuppetDB at ${base} did not answer (curl exit ${out.exitCode ?? 'null'}: ${(out.stderr || out.stdout).trim().slice(0, 300)}); start it and run again`,
            { url: base, exitCode: out.exitCode },
          );
        return out.stdout;
      };
      const q = PUPPETDB_QUERIES;
      const [nodes, facts, catalog, report, exported] = await Promise.all([
        ask(q.nodes),
        ask(q.facts),
        ask(q.catalog),
        ask(q.report),
        ask(q.exported),
      ]);
      return parseNodeStates({ nodes, facts, catalog, report, exported }, base);
    };
    const comparison = comparePuppetdb(await states(primary), await states(other));
    if (comparison.lag > 0)
      ctx.log(`replica lacks ${comparison.missing.length} node(s) and holds older data for ${comparison.stale.length}`);
    return { changed: false, value: { ...comparison } };
  },
});
