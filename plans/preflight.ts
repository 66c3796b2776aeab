/**
 * preflight: before any setup or failover, prove the inventory describes a usable pair:
 * exactly one primary and one replica, every target reachable, commands running as root.
 */
import { z } from 'zod';
import { definePlan } from '../src/plan/plan.js';
import { pairTargets } from '../src/workflow/pair.js';
import { checkConnection } from '../tasks/check-connection.js';

/** Checks roles and reachability; changes nothing. */
export const preflight = definePlan({
  name: 'preflight',
  description: 'Check the inventory roles and that every target is reachable as root',
  params: z.object({}),
  steps: [
    {
      name: 'roles',
      description: 'exactly one primary and one replica are defined',
      async run(ctx) {
        const { primary, replica } = await pairTargets(ctx);
        ctx.log(`primary: ${primary.name}, replica: ${replica.name}`);
      },
    },
    {
      name: 'connect',
      description: 'every target answers over its transport and runs commands as root',
      async run(ctx) {
        await ctx.runTask(checkConnection, await ctx.targets('all'), { expect_user: 'root' });
      },
    },
  ],
});
