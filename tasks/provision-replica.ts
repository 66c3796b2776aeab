/**
 * provision_replica: PE's native DR, step one: `puppet infrastructure provision replica` on the
 * primary, enabling the replica in the same run by default (peadm's add_replica does the same).
 * It reads `puppet infrastructure status` first: a replica that is already provisioned is not
 * provisioned again. PE's status does not say whether a replica is enabled, so with enable=true a
 * provisioned replica gets `enable replica` (PE applies the same classification again); with
 * enable=false it is left alone.
 * The RBAC token is a file on the primary (`token_file`), or pef logs in with `rbac_password`
 * on stdin; the token itself is never read or printed.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import {
  TOPOLOGIES,
  enableReplicaCommand,
  ensureToken,
  infrastructureFailure,
  primaryAndReplica,
  readInfraStatus,
  provisionReplicaCommand,
} from '../src/puppet/pe-infrastructure.js';
import { findReplica } from '../src/puppet/pe-infra-status.js';
import { replicaParams, tokenParams } from '../src/puppet/pe-params.js';
import { defineTask } from '../src/task/task.js';

/** Provisions (and enables) a PE replica; see the file comment. */
export const provisionReplica = defineTask({
  name: 'provision_replica',
  description:
    'PE: provision (and enable) a replica with `puppet infrastructure provision replica`, run on the primary',
  details: `Run on the PE primary with replica=<inventory name> or replica_certname=<certname>.
Reads \`puppet infrastructure status\` first: a replica it lists is not provisioned again. PE's
status JSON does not say whether a replica is enabled, so with enable=true an already provisioned
replica gets \`enable replica\` (PE applies the same classification again; changed: true), and
with enable=false it is left alone (changed: false, enabled: null). Needs an RBAC token: token_file (default ~/.puppetlabs/token)
or rbac_password (pef runs \`puppet access login\`, password on stdin). Copy the secrets first
(copy_secrets) so the replica does not make its own keys when promoted.`,
  params: z.object({
    ...replicaParams,
    enable: z
      .boolean()
      .default(true)
      .describe('also enable the replica (--enable): agents and services fail over to it'),
    topology: z.enum(TOPOLOGIES).optional().describe('--topology (PE default: mono)'),
    skip_agent_config: z
      .boolean()
      .default(false)
      .describe("--skip-agent-config: leave the agents' server lists alone (load balancer setups)"),
    ...tokenParams,
  }),
  supportsNoop: true,
  async run(ctx) {
    const task = 'provision_replica';
    const host = ctx.target.name;
    const { self, certname, status } = await primaryAndReplica(ctx, task);

    const existing = findReplica(status, certname) !== undefined;
    const { enable } = ctx.params;
    const options = { topology: ctx.params.topology, skipAgentConfig: ctx.params.skip_agent_config };
    if (existing && !enable) {
      // enabled: null, PE's status does not say whether a provisioned replica is enabled.
      return {
        changed: false,
        value: { replica: certname, primary: self, action: 'none', provisioned: true, enabled: null },
      };
    }
    const action = existing ? 'enable' : 'provision';
    if (existing)
      ctx.log(
        `${certname} is provisioned; PE's status does not say whether it is enabled, so \`enable replica\` runs (PE applies the same classification again)`,
      );

    const tokenFile = await ensureToken(ctx, ctx.params, task, ctx.noop);
    const command =
      action === 'provision'
        ? provisionReplicaCommand(certname, { ...options, tokenFile, enable })
        : enableReplicaCommand(certname, { ...options, tokenFile });
    try {
      await ctx.change(command);
    } catch (error) {
      throw infrastructureFailure(
        task,
        host,
        `infrastructure ${action} replica`,
        error,
        `PE may have ${action === 'provision' ? 'provisioned' : 'enabled'} ${certname} in part: look at \`puppet infrastructure status --verbose\` (pef task run infra_status -t ${host}), fix the cause, and run ${task} again (it picks up from what the status shows).`,
      );
    }
    const value = { replica: certname, primary: self, action, provisioned: true, enabled: enable };
    if (ctx.noop) return { changed: true, value: { ...value, provisioned: existing } };

    if (findReplica(await readInfraStatus(ctx, task), certname) === undefined) {
      throw new PefError(
        'pef/task-failed',
        `${task}: \`puppet infrastructure ${action} replica ${certname}\` succeeded on ${host}, but the status afterwards does not list it as a replica. Check \`puppet infrastructure status --verbose\` there and run ${task} again.`,
        { host, replica: certname },
      );
    }
    return { changed: true, value };
  },
});
