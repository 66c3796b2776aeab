/**
 * forget_replica: PE's native DR decommission, `puppet infrastructure forget <certname>`, run on
 * the primary. PE revokes the replica's certificate, purges it as an agent and deletes its secret
 * key information. A certname the status does not list as a replica is left alone (changed:
 * false) unless force=true: PE says to run forget whenever a replica is destroyed, also before
 * replacing it under the same name.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import {
  ensureToken,
  forgetReplicaCommand,
  infrastructureFailure,
  primaryAndReplica,
  readInfraStatus,
} from '../src/puppet/pe-infrastructure.js';
import { findReplica } from '../src/puppet/pe-infra-status.js';
import { replicaParams, tokenParams } from '../src/puppet/pe-params.js';
import { defineTask } from '../src/task/task.js';

/** Forgets a PE replica; see the file comment. */
export const forgetReplica = defineTask({
  name: 'forget_replica',
  description: 'PE: decommission a replica with `puppet infrastructure forget`, run on the primary',
  details: `Run on the PE primary with replica_certname=<certname> (or replica=<inventory name> while it is
reachable). changed: false when the status does not list it as a replica, unless force=true.
PE revokes its certificate and purges it: the host cannot act as a replica again until it is
provisioned anew. Afterwards delete keys.json on the old replica if it still exists. Needs an
RBAC token (token_file or rbac_password, as provision_replica).`,
  params: z.object({
    ...replicaParams,
    force: z
      .boolean()
      .default(false)
      .describe('run forget even when the status does not list the certname as a replica'),
    ...tokenParams,
  }),
  supportsNoop: true,
  async run(ctx) {
    const task = 'forget_replica';
    const host = ctx.target.name;
    const { self, certname, status } = await primaryAndReplica(ctx, task);
    const known = findReplica(status, certname) !== undefined;
    if (!known && !ctx.params.force) {
      return {
        changed: false,
        value: {
          replica: certname,
          primary: self,
          action: 'none',
          note: `${certname} is not a replica of ${self}`,
        },
      };
    }

    const tokenFile = await ensureToken(ctx, ctx.params, task, ctx.noop);
    try {
      await ctx.change(forgetReplicaCommand(certname, tokenFile));
    } catch (error) {
      throw infrastructureFailure(
        task,
        host,
        'infrastructure forget',
        error,
        `PE may have forgotten ${certname} in part (certificate revoked, node purged): look at \`puppet infrastructure status\` on ${host}, fix the cause, and run ${task} again with force=true.`,
      );
    }
    if (ctx.noop)
      return {
        changed: true,
        value: { replica: certname, primary: self, action: 'forget', was_replica: known },
      };

    if (findReplica(await readInfraStatus(ctx, task), certname) !== undefined) {
      throw new PefError(
        'pef/task-failed',
        `${task}: \`puppet infrastructure forget ${certname}\` succeeded on ${host}, but the status still lists it as a replica. Check \`puppet infrastructure status\` there.`,
        {
          host,
          replica: certname,
        },
      );
    }
    return {
      changed: true,
      value: { replica: certname, primary: self, action: 'forget', was_replica: known },
    };
  },
});
