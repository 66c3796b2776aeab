/**
 * The pair's replication status, read on both servers with probe_status and judged by
 * src/replication/status.ts: what the status plan returns and what setup's verify can ask.
 * Read-only. The replica is read first, so the primary can digest the first N lines of its CA
 * inventory for the replica's N and tell whether the replica's is an older copy (the CA lag).
 */
import type { ResultSet } from '../../src/executor/result.js';
import type { Target } from '../../src/inventory/target.js';
import type { PlanContext } from '../../src/plan/plan.js';
import { evaluateStatus, type HostReading, type StatusDocument } from '../../src/replication/status.js';
import type { StatusProbe } from '../../src/replication/status-probe.js';
import { pairTargets } from '../../src/workflow/pair.js';
import { probeStatus } from '../../tasks/probe-status.js';

/** Reads and judges the inventory's primary/replica pair. */
export async function pairStatus(ctx: PlanContext<unknown>): Promise<StatusDocument> {
  const { primary, replica } = await pairTargets(ctx);
  const servers = [primary.name, replica.name];
  const onReplica = reading(replica, await ctx.runTask(probeStatus, [replica], { servers }, { catchErrors: true }));
  const lines = onReplica.probe?.ca.count;
  const onPrimary = reading(
    primary,
    await ctx.runTask(
      probeStatus,
      [primary],
      { servers, ...(typeof lines === 'number' ? { ca_prefix_lines: lines } : {}) },
      { catchErrors: true },
    ),
  );
  return evaluateStatus(onPrimary, onReplica, new Date());
}

function reading(target: Target, set: ResultSet): HostReading {
  const result = set.find(target.name);
  if (result?.status !== 'success' || !('replication' in result.value))
    return { name: target.name, probe: null, error: result?.error?.msg.split('\n')[0] ?? 'nothing was read' };
  return { name: target.name, probe: result.value as unknown as StatusProbe, error: null };
}
