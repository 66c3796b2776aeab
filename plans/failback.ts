/**
 * failback: after a failover, return to the original primary. It must be fenced (passive or
 * fenced, never active: the split-brain guard) and reachable; the active server then sends back
 * to it with setup's own steps (plans/shared/setup-steps.ts: transfer channel, CA, PuppetDB,
 * modes, the host-side jobs), which leaves the pair in the steady state a switchover starts from;
 * then the switchover plan's own steps run to it: final sync, the same verification that it holds
 * everything the active server holds (else abort with everything put back), promotion, the
 * replication turned round, agents. The roles in `status` end as they began.
 *
 * failback = reverse sync + verification + switchover: no step of its own beyond the checks and
 * the confirmation. Destructive, so: check, confirm (type the original primary's name; --yes),
 * check again, act, verify. A resumed run (`--from <step>`) checks and asks again before its first
 * change. `--noop` runs the checks for real and prints every command; the switchover's own checks
 * judge a pair the dry run only previewed rebuilding, so they run for real only once it is rebuilt.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import type { Target } from '../src/inventory/target.js';
import type { PlanContext, PlanStep } from '../src/plan/plan.js';
import { definePlan } from '../src/plan/plan.js';
import type { StatusDocument } from '../src/replication/status.js';
import { confirmActive } from '../src/workflow/confirm-active.js';
import { assessNewSpare, refuseUnlessReady, type NewSpareAssessment } from '../src/workflow/new-spare-checks.js';
import { pairTargets, type Pair } from '../src/workflow/pair.js';
import { switchDirection } from '../src/workflow/switch-direction.js';
import { caPass, failIfPassesFailed } from './shared/data-passes.js';
import { readServers } from './shared/read-servers.js';
import { SETUP_PARAMS, setupMemo, setupSteps } from './shared/setup-steps.js';
import { switchover } from './switchover.js';

const params = z.object({
  to: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/)
    .optional()
    .describe("inventory name of the server to return to (default: the inventory's role: primary)"),
  ...SETUP_PARAMS,
});

type FailbackParams = z.output<typeof params>;
type Ctx = PlanContext<FailbackParams>;

/** What the checks found; measured again after the confirmation. */
interface Findings {
  /** The server active now (the failover's spare), which sends back and then becomes the spare. */
  active: Target;
  /** The original primary, fenced now, active at the end. */
  original: Target;
  /** The original primary already receives (passive, kill-switch off): the rebuild is done. */
  receiving: boolean;
  assessment: NewSpareAssessment;
}

// The switchover's checks judge the steady pair the rebuild makes; a dry run only previews the
// rebuild, so there they run only when the pair already is steady (a failback resumed after it).
const SWITCHOVER_CHECKS = ['check', 'recheck'];
const switchoverSteps: PlanStep<FailbackParams>[] = switchover.steps.map((step) =>
  SWITCHOVER_CHECKS.includes(step.name)
    ? {
        ...step,
        async run(ctx: Ctx) {
          if (ctx.noop && !(await current(ctx)).receiving) {
            ctx.log(`${step.name}: the switchover's checks run for real once the original primary receives again`);
            return;
          }
          await step.run(ctx);
        },
      }
    : step,
);

/** The failback plan; see the file comment. */
export const failback = definePlan({
  name: 'failback',
  description: 'Return to the original primary after a failover: sync back to it, verify, switch over to it',
  details: `Steps: failback_check, failback_confirm, then setup's steps with the active server sending back to the
original primary (preflight ... replication), first_pass, then the switchover's (check, confirm, recheck, pause, fence,
final_sync, verify_equal, demote, promote, new_spare, reverse, agents, verify).
The original primary (to=<name>, default the inventory's role: primary) must be fenced: passive or fenced,
never active (pef/split-brain-guard, exit 2). Asks to type its name (--yes in scripts). --noop checks for
real and prints every command; exit 2 when a prerequisite fails. Resume with --from <step>.`,
  params,
  memo: {
    ...switchover.memo,
    ...setupMemo<FailbackParams>(async (ctx) => {
      await ctx.memo.get('confirmed');
      const { active, original } = await current(ctx);
      return { primary: active, replica: original } satisfies Pair;
    }),
    failback: async (ctx) => measure(ctx),
    // Every step that changes a host asks this first (through SETUP_PAIR or the switchover's own
    // steps): a resumed run is checked and confirmed before its first change too.
    confirmed: async (ctx) => {
      const before = await current(ctx);
      refuseIfBlocked(ctx, before, false);
      await confirmActive(ctx, before.original.name);
      if (ctx.noop) return;
      const again = await measure(ctx);
      refuseIfBlocked(ctx, again, true);
      if (again.active.name !== before.active.name)
        throw new PefError('pef/task-failed', 'the active server changed while confirming; nothing was changed', {});
      ctx.memo.set('failback', again);
    },
    // The switchover goes to the original primary, named, not inferred: a resumed run must not turn round.
    direction: async (ctx) => {
      const { active, original } = await current(ctx);
      const status = (await ctx.memo.get('status')) as StatusDocument;
      switchDirection([active.name, original.name], status, original.name);
      ctx.log(`failback: switching over ${active.name} -> ${original.name}`);
      return { from: active, to: original };
    },
  },
  steps: [
    {
      name: 'failback_check',
      description: 'both servers read; the original primary fenced (passive or fenced), the other active',
      async run(ctx) {
        refuseIfBlocked(ctx, await current(ctx), true);
      },
    },
    {
      name: 'failback_confirm',
      description: 'type the name of the original primary (--yes answers it); then every check again',
      async run(ctx) {
        await ctx.memo.get('confirmed');
      },
    },
    ...setupSteps(['agents', 'verify']),
    {
      name: 'first_pass',
      description:
        "a CA pass to the original primary recorded, so the switchover's checks judge the jobs just installed at once",
      async run(ctx) {
        await ctx.memo.get('confirmed');
        const { active, original } = await current(ctx);
        if (ctx.noop) return ctx.log(`a real run records a first CA pass ${active.name} -> ${original.name} here`);
        // Without it the check reads the sending job's state from its last life (before the
        // failover) as a stopped job, until the new timer's first pass.
        await caPass(ctx, { pair: { primary: active, replica: original }, intervalS: ctx.params.interval_s });
        await failIfPassesFailed(ctx);
      },
    },
    ...switchoverSteps,
  ],
});

async function current(ctx: Ctx): Promise<Findings> {
  return (await ctx.memo.get('failback')) as Findings;
}

// Both servers read for real (also under --noop) and judged.
async function measure(ctx: Ctx): Promise<Findings> {
  const pair = await pairTargets(ctx);
  const name = ctx.params.to ?? pair.primary.name;
  if (name !== pair.primary.name && name !== pair.replica.name)
    throw new PefError(
      'pef/validation-error',
      `to=${name} is not one of the pair's servers (${pair.primary.name}, ${pair.replica.name}).`,
      { to: name },
    );
  const [original, active] = name === pair.primary.name ? [pair.primary, pair.replica] : [pair.replica, pair.primary];
  const readings = await readServers(ctx, [original, active]);
  const reading = (t: Target) => readings.get(t.name) ?? { name: t.name, probe: null, error: 'not read' };
  const assessment = assessNewSpare({
    active: reading(active),
    spare: reading(original),
    others: [],
    activeMayBePassive: false,
  });
  const state = reading(original).probe?.replication;
  const mode = state?.mode?.mode ?? null;
  if (state)
    assessment.verdicts.push({
      check: 'fenced',
      problem:
        mode === 'passive' || mode === 'fenced'
          ? null
          : `${original.name} has ${mode === null ? 'no failover mode' : `mode ${mode}`}: failback returns to a fenced former primary (demote it first: pef task run demote -t ${original.name} peer=${active.name})`,
      ok: `${original.name} is ${mode ?? '?'}${state.killSwitch ? ', kill-switch on' : ', receiving'}`,
    });
  if (ctx.params.strategy === 'native')
    assessment.verdicts.push({
      check: 'strategy',
      problem:
        'failback drives the warm-spare strategy; PE native: promote the original primary back with promote_replica (docs/runbook.md)',
      ok: '',
    });
  return { active, original, receiving: mode === 'passive' && state?.killSwitch === null, assessment };
}

function refuseIfBlocked(ctx: Ctx, found: Findings, print: boolean): void {
  refuseUnlessReady(
    (t) => ctx.log(t),
    'failback',
    `failback: ${found.active.name} sends back to ${found.original.name}, then ${found.original.name} becomes active`,
    found.assessment,
    print,
  );
}
