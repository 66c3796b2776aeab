/**
 * status: is the warm spare ready? Reads both servers (read-only, also under --noop) and returns
 * one document (src/replication/status.ts): which server is active, by its mode and by what
 * answers on 8140; per data kind the last success, its age, the last error and the lag; modes,
 * kill-switch and code drift; every problem found. The plan's value is that document, and the
 * plan fails (exit 2) when the pair is not healthy, so scripts can use either. `pef status` runs
 * this plan and prints the document as a table or JSON.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { definePlan } from '../src/plan/plan.js';
import type { StatusDocument } from '../src/replication/status.js';
import { pairStatus } from './shared/pair-status.js';

/** The pair's replication status; see the file comment. */
export const status = definePlan({
  name: 'status',
  description: 'Replication status of the pair: active server, each data kind, problems (read-only)',
  details: `Runs probe_status on the replica, then on the primary. The value is the status document
({active, replica, healthy, data: [{kind, last_success, age_s, error, lag}], problems, ...});
the plan fails when healthy is false. Same as \`pef status\`.`,
  params: z.object({}),
  memo: {
    document: async (ctx) => pairStatus(ctx),
  },
  steps: [
    {
      name: 'read',
      description: 'probe_status on both servers (mode, kill-switch, job states, 8140, CA, code, PuppetDB)',
      async run(ctx) {
        await ctx.memo.get('document');
      },
    },
    {
      name: 'report',
      description: 'the status document; fails when the pair is not healthy',
      async run(ctx) {
        const document = (await ctx.memo.get('document')) as StatusDocument;
        ctx.returns(document);
        if (!document.healthy)
          throw new PefError(
            'pef/task-failed',
            `the pair is not healthy:\n${document.problems.map((p) => `- ${p}`).join('\n')}`,
            { problems: document.problems },
          );
        ctx.log(`healthy: ${document.active ?? '?'} active, ${document.replica ?? '?'} its spare`);
      },
    },
  ],
});
