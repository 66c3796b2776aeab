/**
 * probe_status: what `status` reads on one Puppet server, read-only: mode and kill-switch, the
 * replication jobs' state files, whether the pair's Puppet Servers answer on 8140 from here, the
 * CA's serial and inventory, the code digest and puppetdb.conf (src/replication/status-probe.ts).
 * The status plan runs it on both servers and judges the pair (src/replication/status.ts).
 */
import { z } from 'zod';
import { parseStatusProbe, statusProbeCommand } from '../src/replication/status-probe.js';
import { defineTask } from '../src/task/task.js';

/** Reads one server's replication status; changes nothing. */
export const probeStatus = defineTask({
  name: 'probe_status',
  description: "Read a server's replication status (mode, kill-switch, job states, 8140, CA, code digest)",
  details: `Read-only. Job states are read from /var/lib/pef/state/*.state without following links.
Each name in servers is asked for https://<name>:8140/status/v1/simple from this host, with its
own certificate and CA (3 s to connect, 5 s in all). ca_prefix_lines=N adds the digest of the CA
inventory's first N lines, to tell whether a spare's shorter inventory is an older copy of this one.`,
  params: z.object({
    servers: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/))
      .default([])
      .describe('certnames of the servers whose Puppet Server should answer on 8140'),
    ca_prefix_lines: z.number().int().min(0).optional().describe('digest the first N lines of inventory.txt too'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const command = statusProbeCommand({
      servers: ctx.params.servers,
      ...(ctx.params.ca_prefix_lines === undefined ? {} : { caPrefixLines: ctx.params.ca_prefix_lines }),
    });
    return { changed: false, value: { ...parseStatusProbe((await ctx.read(command)).stdout) } };
  },
});
