/**
 * What agents call the pair's two servers (their certnames, read from the hosts) and the flavor
 * they run: what plans pass to configure_agents, agent_check and the fleet advice.
 */
import { PefError } from '../../src/errors/pef-error.js';
import type { Target } from '../../src/inventory/target.js';
import type { PlanContext } from '../../src/plan/plan.js';
import { pairTargets, type Pair } from '../../src/workflow/pair.js';
import { discover } from '../../tasks/discover.js';

/** What agents call the two servers, and the flavor they run. */
export interface ServerNames {
  primary: string;
  replica: string;
  flavor: 'oss' | 'pe';
}

/** The servers' certnames and flavor, discovered on both (read-only); `pair` defaults to the inventory's roles. */
export async function serverNames(ctx: PlanContext<unknown>, pair?: Pair): Promise<ServerNames> {
  const { primary, replica } = pair ?? (await pairTargets(ctx));
  const found = await ctx.runTask(discover, [primary, replica]);
  const fact = (target: Target, key: 'certname' | 'flavor'): string => {
    const value = found.find(target.name)?.value[key];
    if (typeof value !== 'string' || value === '')
      throw new PefError('pef/task-failed', `discover on ${target.name} found no ${key}: is Puppet installed there?`, {
        target: target.name,
      });
    return value;
  };
  const flavor = fact(primary, 'flavor') === 'pe' ? 'pe' : 'oss';
  return { primary: fact(primary, 'certname'), replica: fact(replica, 'certname'), flavor };
}
