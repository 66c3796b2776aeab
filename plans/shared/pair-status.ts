/**
 * The pair's replication status, read on both servers with probe_status and judged by
 * src/replication/status.ts: what the status plan returns and what setup's verify can ask.
 * Read-only. The replica is read first, so the primary can digest the first N lines of its CA
 * inventory for the replica's N and tell whether the replica's is an older copy (the CA lag). On
 * oss, compare_puppetdb then runs on the active server for the PuppetDB lag.
 */
import type { ResultSet } from '../../src/executor/result.js';
import type { Target } from '../../src/inventory/target.js';
import type { PlanContext } from '../../src/plan/plan.js';
import {
  evaluateStatus,
  type HostReading,
  type PuppetdbComparison,
  type StatusDocument,
} from '../../src/replication/status.js';
import type { StatusProbe } from '../../src/replication/status-probe.js';
import { pairTargets, type Pair } from '../../src/workflow/pair.js';
import { comparePuppetdbTask } from '../../tasks/compare-puppetdb.js';
import { probeStatus } from '../../tasks/probe-status.js';

/** Reads and judges the inventory's primary/replica pair, or `pair` (promote's new pair, before the inventory names it). */
export async function pairStatus(ctx: PlanContext<unknown>, pair?: Pair): Promise<StatusDocument> {
  const { primary, replica } = pair ?? (await pairTargets(ctx));
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
  return evaluateStatus(onPrimary, onReplica, new Date(), await comparePuppetdbs(ctx, onPrimary, onReplica));
}

// oss: the active server's PuppetDB against the spare's, when both servers could be read.
async function comparePuppetdbs(
  ctx: PlanContext<unknown>,
  primary: HostReading,
  replica: HostReading,
): Promise<PuppetdbComparison | null> {
  if (!primary.probe || !replica.probe || primary.probe.flavor !== 'oss' || replica.probe.flavor !== 'oss') return null;
  const replicaActive =
    replica.probe.replication.mode?.mode === 'active' && primary.probe.replication.mode?.mode !== 'active';
  const [sender, receiver] = replicaActive ? [replica, primary] : [primary, replica];
  const target = (await ctx.targets(sender.name))[0];
  if (!target) return null;
  const set = await ctx.runTask(comparePuppetdbTask, [target], { receiver: receiver.name }, { catchErrors: true });
  const result = set.find(sender.name);
  const value = result?.value as { lag?: unknown; missing?: unknown } | undefined;
  if (result?.status !== 'success' || typeof value?.lag !== 'number' || !Array.isArray(value.missing))
    return { error: result?.error?.msg.split('\n')[0] ?? 'no answer' };
  return { lag: value.lag, missing: value.missing.length };
}

function reading(target: Target, set: ResultSet): HostReading {
  const result = set.find(target.name);
  if (result?.status !== 'success' || !('replication' in result.value))
    return { name: target.name, probe: null, error: result?.error?.msg.split('\n')[0] ?? 'nothing was read' };
  return { name: target.name, probe: result.value as unknown as StatusProbe, error: null };
}
