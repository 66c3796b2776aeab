/**
 * install_replication: the CA's continuous replication, installed on the hosts so it runs with no
 * pef process anywhere: the `sync_ca` job on the primary and `receive_ca` on the replica
 * (src/replication/ca-job.ts), each a small script generated from the command builders the
 * sync_ca task uses, run by systemd path + timer units, or in the lab by the service shim's
 * pef-replication supervisor. Idempotent: a script or unit is written only when it differs.
 * `enabled=false` stops and removes both jobs.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import { FACTS_FILE_NAME, factsDirCommand } from '../src/puppet/mode.js';
import { checkCertname } from '../src/puppet/names.js';
import { hasTransferKey, transferParams, transferSettings } from '../src/puppet/transfer.js';
import {
  caJobSpec,
  caReceiveScript,
  caSendScript,
  caWatchPaths,
  type CaJobSettings,
} from '../src/replication/ca-job.js';
import { installJob, removeJob, type JobInstall } from '../src/replication/install-job.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/** Installs (or removes) the host-side CA replication jobs; see the file comment. */
export const installReplication = defineTask({
  name: 'install_replication',
  description: 'Install the continuous CA replication jobs on the primary (sync_ca) and the replica (receive_ca)',
  details: `Run on the primary with receiver=<the replica's inventory name>, after setup_transfer and sync_ca.
Writes /usr/local/sbin/pef-job-<job> (root 0700) and, under systemd, pef-job-<job>.{service,path,timer}
(path and timer enabled --now); on lab hosts registers the job in /etc/pef/jobs for pef-lab-service pef-replication.
Each pass writes /var/lib/pef/state/<job>.state and logs "PEF: <job> [SUCCESS|FAILURE|WARNING] …" (tag pef).
enabled=false stops and removes the jobs. Idempotent: changed only when a script or unit differs.`,
  params: z.object({
    ...transferParams,
    enabled: z.boolean().default(true).describe('false: stop and remove the jobs on both hosts'),
    interval_s: z
      .number()
      .int()
      .min(10)
      .max(86_400)
      .default(60)
      .describe('seconds between timer passes (a change in the CA triggers a pass at once)'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const replica = await ctx.peer(ctx.params.receiver);
    const [primary, replicaFacts] = await Promise.all([
      discoverHost((c) => ctx.read(c)),
      discoverHost((c) => replica.read(c)),
    ]);
    if (ctx.params.enabled && !primary.hasCa) {
      throw new PefError(
        'pef/task-failed',
        `${ctx.target.name} has no CA in ${primary.paths.cadir || 'its cadir'}: run install_replication on the primary (the CA server). Nothing was changed.`,
        {},
      );
    }
    checkCertname(replicaFacts.certname, { server: replica.target.name, field: 'certname (puppet config print)' });
    if (!replicaFacts.paths.cadir) {
      throw new PefError(
        'pef/task-failed',
        `Could not find the cadir on ${replica.target.name} (puppet config print cadir gave nothing). Is Puppet installed there?`,
        {},
      );
    }
    const transfer = await transferSettings(ctx.params, replica);
    if (ctx.params.enabled && !(await hasTransferKey(ctx, transfer))) {
      throw new PefError(
        'pef/task-failed',
        `No transfer key on ${ctx.target.name}: run setup_transfer receiver=${replica.target.name} (and sync_ca) first. Nothing was changed.`,
        {},
      );
    }
    const settings: CaJobSettings = {
      primaryCadir: primary.paths.cadir,
      replicaCadir: replicaFacts.paths.cadir,
      owner:
        (await ctx.read(`stat -c %U:%G ${shQuote(primary.paths.cadir)} 2>/dev/null || true`)).stdout.trim() ||
        'puppet:puppet',
      transfer,
      intervalS: ctx.params.interval_s,
      fence: {
        peer: replica.target.name,
        serviceManager: primary.serviceManager,
        serverService: primary.flavor === 'pe' ? 'pe-puppetserver' : 'puppetserver',
        factsFile: `${(await ctx.read(factsDirCommand())).stdout.trim()}/${FACTS_FILE_NAME}`,
      },
    };
    const send: JobInstall = {
      spec: caJobSpec('send', settings.intervalS),
      script: caSendScript(settings),
      watch: caWatchPaths('send', settings),
    };
    const receive: JobInstall = {
      spec: caJobSpec('receive', settings.intervalS),
      script: caReceiveScript(settings),
      watch: caWatchPaths('receive', settings),
    };
    const changes = ctx.params.enabled
      ? // The receiver first: a delivery never waits for a receiver that is not there yet.
        {
          [replica.target.name]: await installJob(replica, replicaFacts.serviceManager, receive),
          [ctx.target.name]: await installJob(ctx, primary.serviceManager, send),
        }
      : {
          [ctx.target.name]: await removeJob(ctx, primary.serviceManager, send),
          [replica.target.name]: await removeJob(replica, replicaFacts.serviceManager, receive),
        };
    return {
      changed: Object.values(changes).some((c) => c.length > 0),
      value: {
        enabled: ctx.params.enabled,
        jobs: { [ctx.target.name]: send.spec.job, [replica.target.name]: receive.spec.job },
        updated: changes,
      },
    };
  },
});
