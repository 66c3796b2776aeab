/**
 * promote: after a failover, make the active server permanent and give it a spare again. The new
 * spare is `new_replica`: the returned old primary (after it is fenced: the failover demoted it, or
 * its own job did when it found a newer epoch) or a new host in the inventory. The spare is built
 * by setup's own steps (plans/shared/setup-steps.ts) run in the new direction: the active server
 * sends, the new spare receives.
 *
 * Destructive, so: check (both servers read for real, the split-brain guard: no server but the
 * active one may say active), confirm (type the active server's name; --yes), check again, act,
 * verify (setup's verify step: catalogs from both servers, status healthy). A resumed run
 * (`--from <step>`) checks and asks again before its first change. `--noop` runs the checks for
 * real and prints every command the steps would run.
 *
 * PE native (strategy=native): seed 004's "Promote Replica": `puppet infrastructure promote
 * replica` on the server to keep (promote_replica, its own 8140 guard on the old primary), then
 * the new replica provisioned as in setup (keys.json and the other secrets copied first, so it can
 * decrypt the primary's data), then an orchestrated agent run so every node learns the new pair.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import type { Target } from '../src/inventory/target.js';
import type { PlanContext } from '../src/plan/plan.js';
import { definePlan } from '../src/plan/plan.js';
import { confirmActive } from '../src/workflow/confirm-active.js';
import { assessNewSpare, refuseUnlessReady, type NewSpareAssessment } from '../src/workflow/new-spare-checks.js';
import { pairTargets, type Pair } from '../src/workflow/pair.js';
import { readServers } from './shared/read-servers.js';
import { SETUP_PARAMS, setupMemo, setupPair, setupSteps } from './shared/setup-steps.js';
import { promoteReplica } from '../tasks/promote-replica.js';
import { runAgentsJob } from '../tasks/run-agents-job.js';

const NAME = /^[A-Za-z0-9_.:-]+$/;

const params = z.object({
  new_replica: z
    .string()
    .regex(NAME)
    .describe('inventory name of the server that becomes the spare: the returned old primary, or a new host'),
  active: z
    .string()
    .regex(NAME)
    .optional()
    .describe(
      "inventory name of the server that stays active; default: the pair's other server, or the one whose mode says active",
    ),
  ...SETUP_PARAMS,
});

type PromoteParams = z.output<typeof params>;
type Ctx = PlanContext<PromoteParams>;

/** What the checks found; measured again after the confirmation. */
interface Findings {
  active: Target;
  spare: Target;
  /** The server the active one replaced (PE native: promote_replica reads its epoch), if any. */
  previous: Target | null;
  assessment: NewSpareAssessment;
}

/** The promote plan; see the file comment. */
export const promote = definePlan({
  name: 'promote',
  description: 'After a failover: keep the active server and give it a new spare (setup in the new direction)',
  details: `Steps: check, confirm, promote_replica (PE native), then setup's steps with the active server sending to
new_replica (preflight ... replication, agents, verify), agent_runs (PE native), report.
new_replica=<inventory name>: the returned old primary (fenced) or a new host. Refused with
pef/split-brain-guard (exit 2) while a server other than the active one says active. Asks to type the
active server's name (--yes in scripts). --noop checks for real and prints every command; exit 2 when a
prerequisite fails. Resume with the same parameters and --from <step>.`,
  params,
  memo: {
    ...setupMemo<PromoteParams>(async (ctx) => {
      await ctx.memo.get('confirmed');
      const { active, spare } = await findings(ctx);
      return { primary: active, replica: spare } satisfies Pair;
    }),
    findings: async (ctx) => measure(ctx),
    // Every step that changes a host gets the pair through SETUP_PAIR, hence through this: a
    // resumed run is checked and confirmed before its first change too.
    confirmed: async (ctx) => {
      const before = await findings(ctx);
      refuseIfBlocked(ctx, before, false);
      await confirmActive(ctx, before.active.name);
      if (ctx.noop) return;
      const again = await measure(ctx);
      refuseIfBlocked(ctx, again, true);
      if (again.active.name !== before.active.name || again.spare.name !== before.spare.name)
        throw new PefError('pef/task-failed', 'the pair changed while confirming; nothing was changed, run again', {});
      ctx.memo.set('findings', again);
    },
  },
  steps: [
    {
      name: 'check',
      description: 'both servers read; the active one is active; no other server says active (split-brain guard)',
      async run(ctx) {
        refuseIfBlocked(ctx, await findings(ctx), true);
      },
    },
    {
      name: 'confirm',
      description: 'type the name of the server that stays active (--yes answers it); then every check again',
      async run(ctx) {
        await ctx.memo.get('confirmed');
      },
    },
    {
      name: 'promote_replica',
      description: "PE native: `puppet infrastructure promote replica` on the server to keep (PE's own promotion)",
      async run(ctx) {
        if (ctx.params.strategy !== 'native') return;
        const { primary } = await setupPair(ctx);
        const { previous } = await findings(ctx);
        await ctx.runTask(promoteReplica, [primary], previous ? { peer: previous.name } : {});
      },
    },
    ...setupSteps(),
    {
      name: 'agent_runs',
      description: 'PE native: an orchestrated agent run on every node (puppet job run), so each learns the new pair',
      async run(ctx) {
        if (ctx.params.strategy !== 'native') return;
        const { primary } = await setupPair(ctx);
        await ctx.runTask(runAgentsJob, [primary], {});
      },
    },
    {
      name: 'report',
      description: 'the new pair, and what the inventory must say for status and the next switchover',
      async run(ctx) {
        const { primary: active, replica: spare } = await setupPair(ctx);
        const inventory = await pairTargets(ctx).catch(() => null);
        const named =
          inventory !== null &&
          [inventory.primary.name, inventory.replica.name].sort().join() === [active.name, spare.name].sort().join();
        const next = named
          ? []
          : [
              `give ${active.name} vars.role: primary and ${spare.name} vars.role: replica in the inventory (and remove the role of the server they replace), so status, switchover and failover see the new pair`,
            ];
        for (const line of next) ctx.log(`next: ${line}`);
        ctx.returns({ active: active.name, replica: spare.name, next_steps: next });
      },
    },
  ],
});

async function findings(ctx: Ctx): Promise<Findings> {
  return (await ctx.memo.get('findings')) as Findings;
}

// The servers named, read for real (also under --noop), and judged.
async function measure(ctx: Ctx): Promise<Findings> {
  const pair = await pairTargets(ctx);
  const spare = await oneTarget(ctx, ctx.params.new_replica, 'new_replica');
  const candidates = [pair.primary, pair.replica].filter((t) => t.name !== spare.name);
  const readings = await readServers(ctx, [spare, ...candidates]);
  let active: Target | undefined;
  if (ctx.params.active !== undefined) active = await oneTarget(ctx, ctx.params.active, 'active');
  else if (candidates.length === 1) active = candidates[0];
  else {
    const saysActive = candidates.filter((t) => readings.get(t.name)?.probe?.replication.mode?.mode === 'active');
    if (saysActive.length === 1) active = saysActive[0];
  }
  if (!active)
    throw new PefError(
      'pef/validation-error',
      `Cannot tell which server stays active (${candidates.map((t) => `${t.name}: ${readings.get(t.name)?.probe?.replication.mode?.mode ?? 'unknown'}`).join('; ')}). Name it: pef plan run promote new_replica=${spare.name} active=<inventory name>.`,
      { new_replica: spare.name },
    );
  const kept = active;
  if (!readings.has(kept.name)) for (const [name, r] of await readServers(ctx, [kept])) readings.set(name, r);
  const reading = (t: Target) => readings.get(t.name) ?? { name: t.name, probe: null, error: 'not read' };
  const others = candidates.filter((t) => t.name !== kept.name);
  const previous = spare.name === pair.primary.name || spare.name === pair.replica.name ? spare : (others[0] ?? null);
  const assessment = assessNewSpare({
    active: reading(kept),
    spare: reading(spare),
    others: others.map(reading),
    activeMayBePassive: ctx.params.strategy === 'native',
  });
  return { active: kept, spare, previous, assessment };
}

async function oneTarget(ctx: Ctx, name: string, param: string): Promise<Target> {
  const found = (await ctx.targets(name)).filter((t) => t.name === name);
  const [target] = found;
  if (!target)
    throw new PefError('pef/validation-error', `${param}=${name} is not a target in the inventory (by its name).`, {
      [param]: name,
    });
  return target;
}

function refuseIfBlocked(ctx: Ctx, found: Findings, print: boolean): void {
  refuseUnlessReady(
    (t) => ctx.log(t),
    'promote',
    `promote: ${found.active.name} stays active, ${found.spare.name} becomes its spare`,
    found.assessment,
    print,
  );
}
