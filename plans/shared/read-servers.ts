/**
 * probe_status on each of some servers, one at a time, as ServerReadings: what the plans that
 * judge a pair before changing it (promote, failback) read. Read-only, also under --noop. One at a
 * time on purpose: a server that does not answer costs its connect timeout once.
 */
import type { Target } from '../../src/inventory/target.js';
import type { PlanContext } from '../../src/plan/plan.js';
import type { StatusProbe } from '../../src/replication/status-probe.js';
import type { ServerReading } from '../../src/workflow/new-spare-checks.js';
import { probeStatus } from '../../tasks/probe-status.js';

/** The servers' readings, by inventory name. */
export async function readServers(
  ctx: PlanContext<unknown>,
  servers: readonly Target[],
): Promise<Map<string, ServerReading>> {
  const readings = new Map<string, ServerReading>();
  for (const server of servers) {
    if (readings.has(server.name)) continue;
    const result = (await ctx.runTask(probeStatus, [server], { servers: [] }, { catchErrors: true })).find(server.name);
    readings.set(
      server.name,
      result?.status === 'success' && 'replication' in result.value
        ? { name: server.name, probe: result.value as unknown as StatusProbe, error: null }
        : { name: server.name, probe: null, error: result?.error?.msg.split('\n')[0] ?? 'nothing was read' },
    );
  }
  return readings;
}
