/**
 * setup: turn an inventory with a primary and a replica (and optional agents) into a verified
 * warm spare, in one idempotent run. Each step is a task the operator could run alone; a second
 * setup on an unchanged pair changes nothing (`"changed": 0` in the plan's JSON). The steps live
 * in plans/shared/setup-steps.ts, shared with promote and failback, which run them in the other
 * direction; here the inventory's primary sends to its replica.
 */
import { z } from 'zod';
import { definePlan } from '../src/plan/plan.js';
import { pairTargets } from '../src/workflow/pair.js';
import { SETUP_PARAMS, setupMemo, setupSteps } from './shared/setup-steps.js';

const params = z.object(SETUP_PARAMS);

/** Sets up the warm spare; see the file comment. */
export const setup = definePlan({
  name: 'setup',
  description: 'Turn a primary and a replica into a verified warm spare (idempotent; resumable with --from)',
  details: `Steps: preflight, install_agent, setup_transfer, pad_serial, receive, sync_ca, replica_servers, seed_puppetdb and
stream_puppetdb (oss), pe_data (PE warm-spare), pe_native_replica (PE native), modes, replication, agents, verify.
A second run on an unchanged pair changes nothing ("changed": 0 with --format json).`,
  params,
  memo: setupMemo((ctx) => pairTargets(ctx)),
  steps: setupSteps(),
});
