/**
 * switchover: a planned change of the active server, both servers up, nothing lost (RPO 0). The
 * order is repmgr's `standby switchover` brought to Puppet: check everything, confirm, check
 * again, stop the continuous jobs, take the old primary out of service (its Puppet Server stopped:
 * no CA signing, no catalogs), carry every data kind one last time, prove the spare holds exactly
 * what the primary holds, and only then demote and promote; finally turn replication round (the
 * new primary sends, with its own transfer key and jobs), reorder the agents' server_list and
 * prove an agent run compiles on the new primary and status is healthy the other way round.
 *
 * Until the promotion nothing is lost by stopping: a step that fails between `pause` and the
 * demotion (a final sync that fails, a spare that does not hold what the primary holds), or a
 * Ctrl-C there, ends the run with everything put back as it was (onStop: jobs reinstalled, the
 * old primary's Puppet Server started; these tasks run even after the cancel). Which server is active is read
 * from the servers' modes (src/workflow/switch-direction.ts), so the same inventory runs the
 * switchover back; a run stopped half-way is resumed with `to=<name> --from <step>`, and every
 * step checks the modes it expects before it changes anything.
 *
 * The old primary keeps mode active until the data is proven equal: a passive server never sends
 * (src/puppet/mode.ts), and the final sync needs it to; with its Puppet Server stopped it serves
 * no agent and signs nothing, which is what fencing means here.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import type { Target } from '../src/inventory/target.js';
import type { PlanContext, PlanStop } from '../src/plan/plan.js';
import { definePlan } from '../src/plan/plan.js';
import type { StatusDocument } from '../src/replication/status.js';
import type { StatusProbe } from '../src/replication/status-probe.js';
import { confirmActive } from '../src/workflow/confirm-active.js';
import { pairTargets, type Pair } from '../src/workflow/pair.js';
import { directionProblem, switchDirection, type ReadMode } from '../src/workflow/switch-direction.js';
import {
  caPass,
  classificationPass,
  databasePasses,
  FAILED_PASSES,
  puppetdbReconcile,
  rememberFailure,
  secretsPass,
} from './shared/data-passes.js';
import { pairStatus } from './shared/pair-status.js';
import { serverNames, type ServerNames } from './shared/server-names.js';
import { agentCheck } from '../tasks/agent-check.js';
import { checkConnection } from '../tasks/check-connection.js';
import { checkPair } from '../tasks/check-pair.js';
import { compareCa } from '../tasks/compare-ca.js';
import { comparePuppetdbTask } from '../tasks/compare-puppetdb.js';
import { configureAgents } from '../tasks/configure-agents.js';
import { configurePuppetdbBroadcast } from '../tasks/configure-puppetdb-broadcast.js';
import { demote } from '../tasks/demote.js';
import { installReplication } from '../tasks/install-replication.js';
import { probeStatus } from '../tasks/probe-status.js';
import { promote } from '../tasks/promote.js';
import { service } from '../tasks/service.js';
import { setMode } from '../tasks/set-mode.js';
import { setupTransfer } from '../tasks/setup-transfer.js';

const params = z.object({
  to: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/)
    .optional()
    .describe(
      'inventory name of the server to make active (default: the passive one, read from the modes); needed to resume a switchover stopped half-way',
    ),
  interval_s: z
    .number()
    .int()
    .min(10)
    .default(60)
    .describe("seconds between the reversed host-side jobs' timer passes"),
});

type SwitchoverParams = z.output<typeof params>;
type Ctx = PlanContext<SwitchoverParams>;

/** The two servers of this switchover, as targets. */
interface Direction {
  from: Target;
  to: Target;
}

/** The planned switchover; see the file comment. */
export const switchover = definePlan({
  name: 'switchover',
  description:
    'Planned switch of the active server, both up, RPO 0: fence, final sync, verify equal, promote, reverse replication',
  details: `Steps: check, confirm, recheck (only after a person confirmed at the prompt), pause, fence, final_sync, verify_equal (aborts with everything put back
when the spare lacks anything), demote, promote, new_spare, reverse, agents, verify.
The active server is read from the modes, so the same inventory switches back. Asks to type the name of the
server that becomes active (--yes in scripts). Resume a stopped run with: to=<that server> --from <step>.
--noop runs the checks for real and prints every command per host; exits 2 when a prerequisite fails.`,
  params,
  onStop: putBack,
  memo: {
    servers: async (ctx) => serverNames(ctx),
    status: async (ctx) => pairStatus(ctx),
    direction: async (ctx) => {
      const pair = await pairTargets(ctx);
      const status = (await ctx.memo.get('status')) as StatusDocument;
      const d = switchDirection([pair.primary.name, pair.replica.name], status, ctx.params.to);
      const byName = (name: string) => (name === pair.primary.name ? pair.primary : pair.replica);
      ctx.log(
        `switchover: ${d.from} -> ${d.to} (a run stopped half-way resumes with: pef plan run switchover to=${d.to} --from <step>)`,
      );
      return { from: byName(d.from), to: byName(d.to) } satisfies Direction;
    },
    confirmed: async (ctx) => confirmActive(ctx, (await direction(ctx)).to.name),
    // Set by verify_equal; a run resumed after it starts with false and proves it again at demote.
    verified: () => Promise.resolve(false),
    // Set by check; a run resumed after it starts with false, so recheck runs the checks.
    checked: () => Promise.resolve(false),
    [FAILED_PASSES]: () => Promise.resolve([] as string[]),
  },
  steps: [
    {
      name: 'check',
      description: 'reachability, modes, replication state and last sync age, versions, disk, clocks',
      async run(ctx) {
        await prerequisites(ctx, (await ctx.memo.get('status')) as StatusDocument);
        ctx.memo.set('checked', true);
      },
    },
    {
      name: 'confirm',
      description: 'type the name of the server that becomes active (--yes answers it)',
      async run(ctx) {
        await ctx.memo.get('confirmed');
      },
    },
    {
      name: 'recheck',
      description:
        'the same checks again, between the confirmation and the first change (with --yes the checks above already ran after it)',
      async run(ctx) {
        // --yes confirmed before the run began, so this run's check came after the confirmation;
        // only a person at the prompt leaves time for the pair to change in between.
        if (ctx.yes && ((await ctx.memo.get('checked')) as boolean))
          return ctx.log('confirmed with --yes before the checks ran: they are not repeated');
        await prerequisites(ctx, await pairStatus(ctx));
      },
    },
    {
      name: 'pause',
      description: 'the continuous CA jobs stopped and removed on both servers',
      async run(ctx) {
        const d = await changing(ctx, 'before');
        await ctx.runTask(installReplication, [d.from], { receiver: d.to.name, enabled: false });
      },
    },
    {
      name: 'fence',
      description: "the old primary's Puppet Server stopped: no certificate signed, no catalog compiled there",
      async run(ctx) {
        const d = await changing(ctx, 'before');
        await ctx.runTask(service, [d.from], { action: 'stop', services: [await serverService(ctx)] });
        ctx.log(`${d.from.name} serves no agent now; agents with a server_list use ${d.to.name} meanwhile`);
      },
    },
    {
      name: 'final_sync',
      description: 'every data kind carried one last time (CA; oss PuppetDB; PE classification, databases, secrets)',
      async run(ctx) {
        const d = await changing(ctx, 'before');
        const pair: Pair = { primary: d.from, replica: d.to };
        await caPass(ctx, { pair });
        if ((await names(ctx)).flavor === 'oss')
          await puppetdbReconcile(ctx, 'lag', pair).catch((error: unknown) =>
            rememberFailure(ctx, 'puppetdb', error instanceof Error ? error.message : String(error)),
          );
        else {
          await classificationPass(ctx, { pair });
          await databasePasses(ctx, { pair });
          await secretsPass(ctx, { pair });
        }
        const failed = (await ctx.memo.get(FAILED_PASSES)) as string[];
        if (failed.length > 0 && !ctx.noop) abort(d, `the final sync did not carry: ${failed.join('; ')}`);
      },
    },
    {
      name: 'verify_equal',
      description:
        'the spare holds exactly what the primary holds (CA digest, PuppetDB nodes and timestamps); else abort',
      async run(ctx) {
        const d = await changing(ctx, 'before');
        const problems = await differences(ctx, d);
        if (problems.length === 0) {
          ctx.memo.set('verified', true);
          return ctx.log(`equal: ${d.to.name} holds everything ${d.from.name} holds`);
        }
        if (ctx.noop) return ctx.log(`not equal yet (the dry run made no final sync): ${problems.join('; ')}`);
        abort(d, problems.join('; '));
      },
    },
    {
      name: 'demote',
      description: 'the old primary passive, its CA service off, replication kill-switch on',
      async run(ctx) {
        const d = await direction(ctx);
        await ctx.memo.get('confirmed');
        const modes = await readModes(ctx, d);
        // A resumed run re-proves what the skipped steps established: fenced, and nothing to lose.
        if (modes[d.from.name] === 'active' && !ctx.noop && !((await ctx.memo.get('verified')) as boolean)) {
          const running = await ctx.runTask(service, [d.from], {
            action: 'status',
            services: [await serverService(ctx)],
          });
          if (Object.values(running.find(d.from.name)?.value['running'] ?? {}).some((r) => r === true))
            throw new PefError(
              'pef/task-failed',
              `${d.from.name}'s Puppet Server is running: it is not fenced. Resume from the fence step (--from fence). Nothing was changed.`,
              { host: d.from.name },
            );
          const problems = await differences(ctx, d);
          if (problems.length > 0)
            throw new PefError(
              'pef/task-failed',
              `${d.to.name} does not hold everything ${d.from.name} holds: ${problems.join('; ')}. Resume from final_sync. Nothing was changed.`,
              { problems },
            );
        }
        await ctx.runTask(demote, [d.from], {
          peer: d.to.name,
          ca: await caParam(ctx),
          reason: `switchover: ${d.to.name} becomes the active server`,
        });
      },
    },
    {
      name: 'promote',
      description:
        "the spare active: mode active, CA service on, its services running; meanwhile the old primary's Puppet Server (CA off) starts",
      async run(ctx) {
        const d = await direction(ctx);
        await ctx.memo.get('confirmed');
        // Two JVM starts side by side instead of one after the other: the demoted old primary's
        // Puppet Server (its CA off since demote, its data verified equal) boots for new_spare
        // while the spare's restarts with its CA. In a dry run the old primary is still active
        // (its demotion was only previewed): promote refuses, as it should.
        const [set] = await Promise.all([
          ctx.runTask(promote, [d.to], { peer: d.from.name, ca: await caParam(ctx) }, { catchErrors: ctx.noop }),
          ctx.runTask(service, [d.from], { action: 'start', services: [await serverService(ctx)] }),
        ]);
        if (!set.ok)
          ctx.log(`promote on ${d.to.name} (dry run): ${set.errorSet()[0]?.error?.msg.split('\n')[0] ?? ''}`);
      },
    },
    {
      name: 'new_spare',
      description: 'the old primary the new spare: passive, receiving, its Puppet Server up (CA off)',
      async run(ctx) {
        const d = await changing(ctx, 'after');
        await ctx.runTask(setMode, [d.from], { mode: 'passive', peer: d.to.name, replication: 'enabled' });
        await ctx.runTask(service, [d.from], { action: 'start', services: [await serverService(ctx)] });
      },
    },
    {
      name: 'reverse',
      description: 'replication the other way: transfer key and CA jobs from the new primary, a first pass recorded',
      async run(ctx) {
        const d = await changing(ctx, 'after');
        await ctx.runTask(setupTransfer, [d.to], { receiver: d.from.name });
        if ((await names(ctx)).flavor === 'oss')
          await ctx.runTask(configurePuppetdbBroadcast, [d.to], { receiver: d.from.name });
        if (ctx.noop) {
          ctx.log(`a real run installs the CA jobs on ${d.to.name} -> ${d.from.name} and records a first CA pass here`);
          return;
        }
        await ctx.runTask(installReplication, [d.to], { receiver: d.from.name, interval_s: ctx.params.interval_s });
        await caPass(ctx, { pair: { primary: d.to, replica: d.from }, intervalS: ctx.params.interval_s });
        const failed = (await ctx.memo.get(FAILED_PASSES)) as string[];
        if (failed.length > 0)
          throw new PefError(
            'pef/task-failed',
            `the first pass ${d.to.name} -> ${d.from.name} failed: ${failed.join('; ')}`,
            {
              failed,
            },
          );
      },
    },
    {
      name: 'agents',
      description: "the inventory's agents list the new primary first (server_list)",
      async run(ctx) {
        const d = await changing(ctx, 'after');
        const agents = await ctx.targets('agent');
        const [to, from] = [await certname(ctx, d.to), await certname(ctx, d.from)];
        if (agents.length > 0) await ctx.runTask(configureAgents, agents, { server_list: [to, from] });
        ctx.log(
          `the rest of the fleet: set server_list = ${to},${from} where you manage puppet.conf (docs/runbook.md)`,
        );
      },
    },
    {
      name: 'verify',
      description: 'an agent run compiles on the new primary; status healthy in the new direction',
      async run(ctx) {
        if (ctx.noop) return ctx.log('verify: the agent run and status are checked for real once the changes are made');
        const d = await changing(ctx, 'after');
        const agents = (await ctx.targets('agent')).slice(0, 1);
        if (agents.length === 0) ctx.log('no agent in the inventory: the catalog check was skipped');
        else await ctx.runTask(agentCheck, agents, { expect_server: await certname(ctx, d.to) });
        const status = await pairStatus(ctx);
        if (!status.healthy || status.active !== d.to.name)
          throw new PefError(
            'pef/task-failed',
            `${d.to.name} is active but the pair is not healthy yet:\n${status.problems.map((p) => `- ${p}`).join('\n')}\nSee \`pef status\`.`,
            { problems: status.problems, active: status.active },
          );
        ctx.log(`healthy: ${d.to.name} active, ${d.from.name} its warm spare`);
      },
    },
  ],
});

async function direction(ctx: Ctx): Promise<Direction> {
  return (await ctx.memo.get('direction')) as Direction;
}

async function names(ctx: Ctx): Promise<ServerNames> {
  return (await ctx.memo.get('servers')) as ServerNames;
}

async function certname(ctx: Ctx, target: Target): Promise<string> {
  const [servers, pair] = [await names(ctx), await pairTargets(ctx)];
  return target.name === pair.primary.name ? servers.primary : servers.replica;
}

async function serverService(ctx: Ctx): Promise<string> {
  return (await names(ctx)).flavor === 'pe' ? 'pe-puppetserver' : 'puppetserver';
}

// PE sets its CA service by classification; pef switches it only on open source Puppet.
async function caParam(ctx: Ctx): Promise<'manage' | 'leave'> {
  return (await names(ctx)).flavor === 'pe' ? 'leave' : 'manage';
}

// Before a step changes anything: the operator confirmed (asked here on a resumed run) and the
// modes are those the step expects, so a resume with the wrong direction changes nothing.
async function changing(ctx: Ctx, phase: 'before' | 'after'): Promise<Direction> {
  const d = await direction(ctx);
  await ctx.memo.get('confirmed');
  if (ctx.noop) return d;
  const problem = directionProblem(phase, { from: d.from.name, to: d.to.name }, await readModes(ctx, d));
  if (problem !== null) throw new PefError('pef/task-failed', problem, { from: d.from.name, to: d.to.name });
  return d;
}

async function readModes(ctx: Ctx, d: Direction): Promise<Record<string, ReadMode>> {
  const set = await ctx.runTask(probeStatus, [d.from, d.to], { servers: [] });
  const modes: Record<string, ReadMode> = {};
  for (const t of [d.from, d.to])
    modes[t.name] = (set.find(t.name)?.value as unknown as StatusProbe | undefined)?.replication.mode?.mode ?? null;
  return modes;
}

// The verdicts before any change: each printed, every failure listed, exit 2 when one fails.
async function prerequisites(ctx: Ctx, status: StatusDocument): Promise<void> {
  const d = await direction(ctx);
  const servers = [d.from, d.to];
  const failed: string[] = [];
  const verdict = (check: string, problem: string | null, ok: string) => {
    ctx.log(`check ${check}: ${problem === null ? `ok, ${ok}` : `FAILED: ${problem}`}`);
    if (problem !== null) failed.push(`${check}: ${problem}`);
  };
  const reached = await ctx.runTask(checkConnection, servers, { expect_user: 'root' }, { catchErrors: true });
  verdict(
    'reachability',
    reached.ok
      ? null
      : reached
          .errorSet()
          .map((r) => `${r.target}: ${r.error?.msg.split('\n')[0] ?? ''}`)
          .join('; '),
    'both servers answer over ssh as root',
  );
  verdict(
    'modes',
    status.active === d.from.name && status.replica === d.to.name && status.modes[d.to.name] === 'passive'
      ? null
      : `expected ${d.from.name} active and ${d.to.name} passive, found ${Object.entries(status.modes)
          .map(([n, m]) => `${n}: ${m ?? 'unknown'}`)
          .join(', ')}`,
    `${d.from.name} active, ${d.to.name} passive`,
  );
  verdict(
    'replication',
    status.healthy ? null : status.problems.join(' '),
    status.data
      .map((r) => `${r.kind} last synced ${r.age_s === null ? '?' : `${r.age_s}s`} ago, lag ${r.lag ?? '?'}`)
      .join('; '),
  );
  const pair = await ctx.runTask(checkPair, [d.from], { replica: d.to.name }, { catchErrors: true });
  const result = pair.find(d.from.name);
  verdict(
    'versions, disk, clocks',
    result?.status === 'success' ? null : (result?.error?.msg ?? 'no answer'),
    'same versions, room on the spare, clocks in step',
  );
  if (failed.length > 0)
    throw new PefError(
      'pef/task-failed',
      `switchover ${d.from.name} -> ${d.to.name} refused, a prerequisite failed:\n${failed.map((f) => `- ${f}`).join('\n')}\nNothing was changed.`,
      { failed },
    );
}

// What the spare lacks next to the primary: the CA by digest; on oss the PuppetDB nodes with
// their latest facts, catalog and report timestamps. Newer data on the spare is no loss.
async function differences(ctx: Ctx, d: Direction): Promise<string[]> {
  const problems: string[] = [];
  const ca = (await ctx.runTask(compareCa, [d.from], { receiver: d.to.name }, { catchErrors: true })).find(d.from.name);
  if (ca?.status !== 'success') problems.push(`CA: ${ca?.error?.msg ?? 'not compared'}`);
  else if (ca.value['equal'] !== true) problems.push(`CA: the digests differ (${JSON.stringify(ca.value['digest'])})`);
  if ((await names(ctx)).flavor === 'oss') {
    const pdb = (await ctx.runTask(comparePuppetdbTask, [d.from], { receiver: d.to.name }, { catchErrors: true })).find(
      d.from.name,
    );
    const value = pdb?.value as { lag?: unknown; missing?: unknown; stale?: unknown } | undefined;
    if (pdb?.status !== 'success' || typeof value?.lag !== 'number')
      problems.push(`PuppetDB: ${pdb?.error?.msg.split('\n')[0] ?? 'not compared'}`);
    else if (value.lag !== 0)
      problems.push(
        `PuppetDB: ${d.to.name} lacks or holds older data for ${value.lag} node(s) (missing ${JSON.stringify(value.missing)}, stale ${JSON.stringify(value.stale)})`,
      );
  } else ctx.log('PE: classification and databases were carried by checksum-verified restores in final_sync');
  return problems;
}

// Fails the step before any promotion; the plan's put-back (onStop) then restores the pair.
function abort(d: Direction, why: string): never {
  throw new PefError(
    'pef/task-failed',
    `switchover ${d.from.name} -> ${d.to.name} aborted before any promotion: ${why}.`,
    {
      why,
    },
  );
}

// The steps after which the old primary may be fenced with its jobs paused and nothing promoted yet.
const BEFORE_PROMOTION = ['pause', 'fence', 'final_sync', 'verify_equal'];

// The put-back (PlanDefinition.onStop): when a run stops (a failure, or Ctrl-C) between `pause` and
// the demotion, the old primary serves again and its jobs send to the spare, as before the run.
// Only when the modes still say so (old primary active, spare passive): unknown is never put back.
async function putBack(ctx: Ctx, stop: PlanStop): Promise<string | undefined> {
  if (!BEFORE_PROMOTION.includes(stop.step) && !(stop.step === 'demote' && !stop.failed)) return undefined;
  const d = await direction(ctx);
  const modes = await readModes(ctx, d).catch((): Record<string, ReadMode> => ({}));
  const problem = directionProblem('before', { from: d.from.name, to: d.to.name }, modes);
  if (problem !== null) return `Not put back (${problem}): check with \`pef status\` before anything else.`;
  const left: string[] = [];
  const started = await ctx.runTask(
    service,
    [d.from],
    { action: 'start', services: [await serverService(ctx)] },
    { catchErrors: true },
  );
  if (!started.ok)
    left.push(`start the Puppet Server on ${d.from.name} (pef task run service -t ${d.from.name} action=start)`);
  const jobs = await ctx.runTask(
    installReplication,
    [d.from],
    { receiver: d.to.name, interval_s: ctx.params.interval_s },
    { catchErrors: true },
  );
  if (!jobs.ok)
    left.push(`reinstall the CA jobs (pef task run install_replication -t ${d.from.name} receiver=${d.to.name})`);
  return left.length === 0
    ? `Put back as it was: ${d.from.name} active and serving, its jobs sending to ${d.to.name}. Fix the cause and run the switchover again (not --from).`
    : `Putting back failed; still to do: ${left.join('; ')}.`;
}
