/**
 * sync: one full replication pass now, from the controller — before a maintenance, before a
 * switchover, or while the host-side jobs are off. Each data kind is one step; a kind that fails
 * does not stop the others (the replica gets everything that can be carried), and the plan fails
 * at the end naming every kind that did not make it. Every pass is recorded in the same state
 * files and log lines the host-side jobs write (record_job), so `status` tells them apart only by
 * their time.
 */
import { z } from 'zod';
import type { PlanContext } from '../src/plan/plan.js';
import { definePlan } from '../src/plan/plan.js';
import {
  caPass,
  classificationPass,
  databasePasses,
  failIfPassesFailed,
  FAILED_PASSES,
  secretsPass,
} from './shared/data-passes.js';
import { serverNames, type ServerNames } from './shared/server-names.js';

const params = z.object({});
type SyncParams = z.output<typeof params>;

/** One full pass; see the file comment. */
export const sync = definePlan({
  name: 'sync',
  description: 'One full replication pass now, from the controller (every data kind; recorded for status)',
  details: `Steps: ca (sync_ca), then on PE classification (dump_nc/restore_nc), databases
(dump_db/restore_db of pe-rbac and pe-orchestrator) and secrets (copy_secrets). A kind that fails
does not stop the others; the plan fails at the end naming them. Obeys the kill-switch and the modes.`,
  params,
  memo: {
    servers: async (ctx) => serverNames(ctx),
    [FAILED_PASSES]: () => Promise.resolve([] as string[]),
  },
  steps: [
    {
      name: 'ca',
      description: 'the CA (signed certificates, CRL, inventory, serial) to the replica',
      async run(ctx) {
        await caPass(ctx);
      },
    },
    {
      name: 'classification',
      description: 'PE: node groups (dump_nc on the primary, restore_nc on the replica)',
      async run(ctx) {
        if (!(await isPe(ctx))) return;
        await classificationPass(ctx);
      },
    },
    {
      name: 'databases',
      description: 'PE: RBAC and orchestrator databases (dump_db, shipped, restore_db)',
      async run(ctx) {
        if (!(await isPe(ctx))) return;
        await databasePasses(ctx);
      },
    },
    {
      name: 'secrets',
      description: "PE: the services' key files and hiera.yaml (copy_secrets)",
      async run(ctx) {
        if (!(await isPe(ctx))) return;
        await secretsPass(ctx);
      },
    },
    {
      name: 'report',
      description: 'fail if any kind could not be carried',
      async run(ctx) {
        await failIfPassesFailed(ctx);
      },
    },
  ],
});

async function isPe(ctx: PlanContext<SyncParams>): Promise<boolean> {
  return ((await ctx.memo.get('servers')) as ServerNames).flavor === 'pe';
}
