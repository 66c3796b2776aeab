/**
 * sync: one full replication pass now, from the controller — before a maintenance, before a
 * switchover, or while the host-side jobs are off. Each data kind is one step; a kind that fails
 * does not stop the others (the replica gets everything that can be carried), and the plan fails
 * at the end naming every kind that did not make it. Every pass is recorded in the same state
 * files and log lines the host-side jobs write (record_job), so `status` tells them apart only by
 * their time.
 */
import { z } from 'zod';
import type { ResultSet } from '../src/executor/result.js';
import { PefError } from '../src/errors/pef-error.js';
import type { PlanContext } from '../src/plan/plan.js';
import { definePlan } from '../src/plan/plan.js';
import type { DataKind } from '../src/replication/job-state.js';
import { pairTargets } from '../src/workflow/pair.js';
import { copySecrets } from '../tasks/copy-secrets.js';
import { dumpDb } from '../tasks/dump-db.js';
import { dumpNc } from '../tasks/dump-nc.js';
import { recordJob } from '../tasks/record-job.js';
import { restoreDb } from '../tasks/restore-db.js';
import { restoreNc } from '../tasks/restore-nc.js';
import { syncCa } from '../tasks/sync-ca.js';
import { serverNames, type ServerNames } from './shared/server-names.js';

const params = z.object({});
type SyncParams = z.output<typeof params>;

/** The PE databases a full pass carries (the classifier's is carried by dump_nc/restore_nc). */
const PE_DATABASES: readonly { kind: DataKind; database: string }[] = [
  { kind: 'rbac', database: 'pe-rbac' },
  { kind: 'orchestrator', database: 'pe-orchestrator' },
];

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
    failed: () => Promise.resolve([] as string[]),
  },
  steps: [
    {
      name: 'ca',
      description: 'the CA (signed certificates, CRL, inventory, serial) to the replica',
      async run(ctx) {
        const { primary, replica } = await pairTargets(ctx);
        await pass(ctx, { job: 'ca', kind: 'ca' }, () =>
          ctx.runTask(syncCa, [primary], { receiver: replica.name }, { catchErrors: true }),
        );
      },
    },
    {
      name: 'classification',
      description: 'PE: node groups (dump_nc on the primary, restore_nc on the replica)',
      async run(ctx) {
        if (!(await isPe(ctx))) return;
        const { primary, replica } = await pairTargets(ctx);
        await pass(ctx, { job: 'classification', kind: 'classification' }, async () => {
          const dumped = await ctx.runTask(dumpNc, [primary], { receiver: replica.name }, { catchErrors: true });
          return dumped.ok ? ctx.runTask(restoreNc, [replica], {}, { catchErrors: true }) : dumped;
        });
      },
    },
    {
      name: 'databases',
      description: 'PE: RBAC and orchestrator databases (dump_db, shipped, restore_db)',
      async run(ctx) {
        if (!(await isPe(ctx))) return;
        const { primary, replica } = await pairTargets(ctx);
        for (const { kind, database } of PE_DATABASES)
          await pass(ctx, { job: kind, kind }, async () => {
            const dumped = await ctx.runTask(
              dumpDb,
              [primary],
              { databases: [database], receiver: replica.name },
              { catchErrors: true },
            );
            return dumped.ok
              ? ctx.runTask(restoreDb, [replica], { databases: [database] }, { catchErrors: true })
              : dumped;
          });
      },
    },
    {
      name: 'secrets',
      description: "PE: the services' key files and hiera.yaml (copy_secrets)",
      async run(ctx) {
        if (!(await isPe(ctx))) return;
        const { primary, replica } = await pairTargets(ctx);
        await pass(ctx, { job: 'secrets', kind: 'secrets' }, () =>
          ctx.runTask(copySecrets, [primary], { replica: replica.name, restart_services: true }, { catchErrors: true }),
        );
      },
    },
    {
      name: 'report',
      description: 'fail if any kind could not be carried',
      async run(ctx) {
        const failed = (await ctx.memo.get('failed')) as string[];
        if (failed.length > 0)
          throw new PefError(
            'pef/task-failed',
            `Not carried to the replica: ${failed.join('; ')}. The other kinds were. Fix the cause and run sync again (or with --from <step>).`,
            { failed },
          );
      },
    },
  ],
});

async function isPe(ctx: PlanContext<SyncParams>): Promise<boolean> {
  return ((await ctx.memo.get('servers')) as ServerNames).flavor === 'pe';
}

// Runs one kind's pass and records it on both servers: `sync_<job>` on the primary (send) and
// `receive_<job>` on the replica (receive), the names the host-side jobs use.
async function pass(
  ctx: PlanContext<SyncParams>,
  what: { job: string; kind: DataKind },
  carry: () => Promise<ResultSet>,
): Promise<void> {
  const { primary, replica } = await pairTargets(ctx);
  const started = performance.now();
  const set = await carry();
  const duration = Math.round(performance.now() - started);
  const error = set.errorSet()[0]?.error?.msg;
  if (error !== undefined) {
    const failed = (await ctx.memo.get('failed')) as string[];
    ctx.memo.set('failed', [...failed, `${what.kind}: ${error.split('\n')[0] ?? error}`]);
  }
  const record = {
    kind: what.kind,
    result: error === undefined ? ('success' as const) : ('failure' as const),
    message: error === undefined ? `${what.kind} carried by pef plan run sync` : error,
    duration_ms: duration,
  };
  if (ctx.noop) return;
  await ctx.runTask(recordJob, [primary], { ...record, job: `sync_${what.job}`, role: 'send' });
  await ctx.runTask(recordJob, [replica], { ...record, job: `receive_${what.job}`, role: 'receive' });
}
