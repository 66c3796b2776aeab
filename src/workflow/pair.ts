/**
 * The primary/replica pair every workflow plan works on: the inventory's one `role: primary` and
 * one `role: replica`.
 */
import { PefError } from '../errors/pef-error.js';
import type { PlanContext } from '../plan/plan.js';
import type { Target } from '../inventory/target.js';

/** The two servers of the pair. */
export interface Pair {
  primary: Target;
  replica: Target;
}

/** The inventory's primary and replica; a clear error unless there is exactly one of each. */
export async function pairTargets(ctx: Pick<PlanContext<unknown>, 'targets'>): Promise<Pair> {
  const primaries = await ctx.targets('primary');
  const replicas = await ctx.targets('replica');
  const [primary] = primaries;
  const [replica] = replicas;
  if (primaries.length !== 1 || replicas.length !== 1 || !primary || !replica) {
    const list = (ts: Target[]) => ts.map((t) => t.name).join(', ') || 'none';
    throw new PefError(
      'pef/validation-error',
      `The inventory must give exactly one target vars.role: primary and one vars.role: replica; found ${primaries.length} primary (${list(primaries)}) and ${replicas.length} replica (${list(replicas)}).`,
      { primaries: primaries.map((t) => t.name), replicas: replicas.map((t) => t.name) },
    );
  }
  return { primary, replica };
}
