/**
 * run_agents_job: an orchestrated Puppet run on every active node, `puppet job run` on the PE
 * primary, as seed 004 does once a replica is provisioned: each agent's run applies the
 * classification that names the new pair (server_list, primary_uris, pcp_broker_list), so the
 * fleet learns it without waiting for its next scheduled run. Needs an RBAC token (token_file or
 * rbac_password, as provision_replica). Not idempotent by nature: each run starts a new job.
 */
import { z } from 'zod';
import {
  ALL_NODES_QUERY,
  assertPeHost,
  ensureToken,
  infrastructureFailure,
  jobRunCommand,
  parsePeHostProbe,
  peHostProbeCommand,
} from '../src/puppet/pe-infrastructure.js';
import { tokenParams } from '../src/puppet/pe-params.js';
import { defineTask } from '../src/task/task.js';

/** Starts an orchestrated agent run; see the file comment. */
export const runAgentsJob = defineTask({
  name: 'run_agents_job',
  description: 'PE: an orchestrated Puppet run on every active node (`puppet job run`), run on the primary',
  details: `Run on the PE primary. query= selects the nodes (PQL; default every node neither deactivated nor
expired). Each run starts a job (changed: true). Needs an RBAC token (token_file or rbac_password).`,
  params: z.object({
    query: z.string().min(1).default(ALL_NODES_QUERY).describe('PQL nodes query selecting the nodes to run'),
    ...tokenParams,
  }),
  supportsNoop: true,
  async run(ctx) {
    const task = 'run_agents_job';
    const probe = parsePeHostProbe((await ctx.read(peHostProbeCommand({ certname: false }))).stdout);
    assertPeHost(probe, ctx.target.name, task, { certname: false });
    const tokenFile = await ensureToken(ctx, ctx.params, task, ctx.noop);
    try {
      await ctx.change(jobRunCommand(ctx.params.query, tokenFile));
    } catch (error) {
      throw infrastructureFailure(
        task,
        ctx.target.name,
        'job run',
        error,
        `Some nodes may have run; look at \`puppet job show\` on ${ctx.target.name}, then run ${task} again.`,
      );
    }
    return { changed: true, value: { query: ctx.params.query } };
  },
});
