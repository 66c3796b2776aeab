/**
 * preflight: before any setup or failover, prove the inventory describes a usable pair:
 * exactly one primary and one replica, every target reachable, commands running as root.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { definePlan } from '../src/plan/plan.js';
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
        const primaries = await ctx.targets('primary');
        const replicas = await ctx.targets('replica');
        if (primaries.length !== 1 || replicas.length !== 1) {
          throw new PefError(
            'pef/validation-error',
            `The inventory must give exactly one target vars.role: primary and one vars.role: replica; found ${primaries.length} primary (${primaries.map((t) => t.name).join(', ') || 'none'}) and ${replicas.length} replica (${replicas.map((t) => t.name).join(', ') || 'none'}).`,
          );
        }
        ctx.log(`primary: ${primaries[0]!.name}, replica: ${replicas[0]!.name}`);
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
