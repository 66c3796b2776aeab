/**
 * check_ports: from this host, does HOST answer on PORTS? Each port is one TCP connect with a
 * deadline (src/host/port-probe.ts): open, refused (the host is up, nothing listens), no answer,
 * or unknown (the probe could not run here). Read-only. Failover runs it on the controller and on
 * the replica before it calls a primary down.
 */
import { z } from 'zod';
import { parsePortProbe, portProbeCommand, PORT_PROBE_TIMEOUT_S } from '../src/host/port-probe.js';
import { defineTask } from '../src/task/task.js';

/** Probes ports of another host; changes nothing. */
export const checkPorts = defineTask({
  name: 'check_ports',
  description: 'From this host, whether another host answers on TCP ports (open, refused, no answer)',
  details: `One TCP connect per port through bash's /dev/tcp, each within timeout_s. value.ports maps
each port to {state, detail}: open, refused (the host answers but nothing listens), no-answer
(timeout, no route, unknown name) or unknown (bash or timeout missing here: nothing measured).`,
  params: z.object({
    host: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.:-]*$/)
      .describe('the host name or address to probe'),
    ports: z.array(z.number().int().min(1).max(65535)).min(1).describe('TCP ports, e.g. [22, 8140]'),
    timeout_s: z.number().int().min(1).max(60).default(PORT_PROBE_TIMEOUT_S).describe('seconds per connect'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const { host, ports, timeout_s: timeout } = ctx.params;
    const out = await ctx.read(portProbeCommand(host, ports, timeout), {
      timeoutMs: (timeout + 5) * 1000 * ports.length,
    });
    return { changed: false, value: { host, ports: parsePortProbe(out.stdout, ports) } };
  },
});
