/**
 * configure_puppetdb_broadcast (open-source Puppet): run on the primary with receiver=<replica>.
 * The primary's Puppet Server sends every PuppetDB command (facts, catalogs, reports) to both
 * PuppetDBs as it happens, through Puppet's own terminus (puppetdb.conf: server_urls with
 * command_broadcast, min_successful_submissions = 1; why these and not submit_only_server_urls:
 * src/puppet/puppetdb-conf.ts). The replica gets the mirror image (its own PuppetDB first, the
 * primary second), so agents that fail over to the replica keep feeding both as well.
 *
 * A Puppet Server reads puppetdb.conf when its JRuby instances start: a changed file is applied
 * with a reload (HUP, which restarts the JRuby pool without restarting the JVM); a server that is
 * stopped reads it at its next start. An unchanged file changes nothing.
 */
import { z } from 'zod';
import type { HostFacts } from '../src/host/discover.js';
import { discoverPair } from '../src/host/discover-pair.js';
import { readFileCommand, writeFileCommand } from '../src/host/files.js';
import { readServiceStatus, serviceCommand } from '../src/host/services.js';
import { broadcastPuppetdbConf, puppetdbUrl } from '../src/puppet/puppetdb-conf.js';
import { curlWithCert, hostTlsCommand, parseHostTls } from '../src/puppet/replica-servers.js';
import type { HostCommands } from '../src/task/task.js';
import { defineTask } from '../src/task/task.js';

async function configure(host: HostCommands, facts: HostFacts, own: string, peer: string): Promise<boolean> {
  const file = `${facts.paths.confdir}/puppetdb.conf`;
  const before = (await host.read(readFileCommand(file))).stdout;
  const after = broadcastPuppetdbConf(before, puppetdbUrl(own), puppetdbUrl(peer));
  if (after === before) return false;
  await host.change(writeFileCommand(file, before === '' ? { mode: '644' } : 'keep'), { stdin: after });
  if ((await readServiceStatus(host, facts.serviceManager, 'puppetserver')) === 'running')
    await host.change(serviceCommand(facts.serviceManager, 'reload', 'puppetserver'));
  return true;
}

/** Streams PuppetDB commands to both PuppetDBs; see the file comment. */
export const configurePuppetdbBroadcast = defineTask({
  name: 'configure_puppetdb_broadcast',
  description: 'Send every PuppetDB command to both PuppetDBs (oss: command_broadcast in puppetdb.conf)',
  details: `Run on the primary with receiver=<replica>, after configure_replica and the first dump_db/restore_db seed.
puppetdb.conf on the primary: server_urls = https://<primary>:8081,https://<replica>:8081, command_broadcast = true,
min_successful_submissions = 1 (agent runs do not fail while the replica is down), sticky_read_failover = false.
The replica gets the same with itself first. Puppet Server is reloaded only where the file changed.
The value says whether the primary can reach the replica's PuppetDB now (replica_puppetdb).`,
  params: z.object({
    receiver: z.string().min(1).describe('inventory name of the replica'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const replica = await ctx.peer(ctx.params.receiver);
    const pair = await discoverPair(ctx, replica, {
      task: 'configure_puppetdb_broadcast',
      ossOnly: "PE's replica has its own PuppetDB sync.",
    });
    const [pf, rf] = [pair.primary.facts, pair.replica.facts];
    const [primary, own] = [pair.primary.certname, pair.replica.certname];
    const changed: string[] = [];
    if (await configure(ctx, pf, primary, own)) changed.push(ctx.target.name);
    if (await configure(replica, rf, own, primary)) changed.push(replica.target.name);

    const tls = parseHostTls((await ctx.read(hostTlsCommand(pf.paths.puppet))).stdout);
    const probe = tls
      ? await ctx.read(`${curlWithCert(tls, `${puppetdbUrl(own)}/status/v1/simple`)} 2>&1 | head -c 200`)
      : undefined;
    const answer = probe?.stdout.trim() ?? 'unknown (no host certificate paths)';
    return {
      changed: changed.length > 0,
      value: {
        server_urls: [puppetdbUrl(primary), puppetdbUrl(own)],
        updated: changed,
        replica_puppetdb: answer,
        ...(answer === 'running'
          ? {}
          : {
              warning: `${ctx.target.name} cannot reach the replica's PuppetDB now (${answer}): commands go to the primary only until it answers; compare_puppetdb shows the gap`,
            }),
      },
    };
  },
});
