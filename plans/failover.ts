/**
 * failover: the primary is gone (or must be abandoned now); make the replica the active server.
 * Unplanned, so unlike a switchover nothing is synced first: the report says how old the
 * replica's copy of each data kind was (the RPO actually suffered).
 *
 * The order is the runbook's, each step resumable with --from: establish that the primary is down
 * (silent from the controller AND from the replica) or fence it if pef can still log in; refuse a
 * partition (the two places disagree) unless the primary is fenced or force=true; confirm; check
 * again; stop replication into the replica (kill-switch); promote it (mode active, CA on, Puppet
 * Server answering); put it first in the reachable agents' server_list (agents that already list
 * it keep working meanwhile); run the DNS / load-balancer hook; prove an agent run compiles on it.
 * `--noop` runs every check for real, prints every command the steps would run, and fails (exit 2)
 * when a prerequisite does.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import type { Result } from '../src/executor/result.js';
import type { PlanContext } from '../src/plan/plan.js';
import { definePlan } from '../src/plan/plan.js';
import { rpoReport, type RpoRow } from '../src/replication/rpo-report.js';
import { duration } from '../src/replication/status-jobs.js';
import type { StatusProbe } from '../src/replication/status-probe.js';
import { controllerTarget } from '../src/workflow/controller-target.js';
import { assessFailover, type FailoverAssessment, type PrimaryViews } from '../src/workflow/failover-checks.js';
import { pairTargets } from '../src/workflow/pair.js';
import type { PortAnswer } from '../src/host/port-probe.js';
import { PUPPETSERVER_PORT } from '../src/replication/status-probe.js';
import { agentCheck } from '../tasks/agent-check.js';
import { checkConnection } from '../tasks/check-connection.js';
import { checkPorts } from '../tasks/check-ports.js';
import { configureAgents } from '../tasks/configure-agents.js';
import { demote } from '../tasks/demote.js';
import { discover } from '../tasks/discover.js';
import { probeStatus } from '../tasks/probe-status.js';
import { promote } from '../tasks/promote.js';
import { service } from '../tasks/service.js';
import { setMode } from '../tasks/set-mode.js';

const params = z.object({
  force: z
    .boolean()
    .default(false)
    .describe(
      'go on when the primary cannot be proved down or fenced (a partition, a view that could not be measured): only when you know it cannot serve agents',
    ),
  ready_timeout_s: z
    .number()
    .int()
    .min(0)
    .max(900)
    .default(180)
    .describe("seconds to wait for the promoted replica's Puppet Server to answer /status/v1/simple"),
});

type FailoverParams = z.output<typeof params>;

/** What the checks found; recomputed after the confirmation and on a resumed run. */
interface Findings {
  assessment: FailoverAssessment;
  replica: StatusProbe | null;
  /** The replica's certname: what agents and agent_check call it. */
  replicaCertname: string | null;
  rpo: RpoRow[];
}

/** The failover; see the file comment. */
export const failover = definePlan({
  name: 'failover',
  description:
    'Unplanned failover: establish the primary is down or fence it, promote the replica, repoint agents, report the RPO',
  details: `Steps: check, confirm, fence_primary, stop_replication, promote, agents, hooks, verify, report.
The primary is called down only when it is silent from the controller (SSH login, 8140) and from the
replica (its SSH port and 8140); a primary pef can log in to is fenced first (Puppet Server and
PuppetDB stopped, demoted: passive, CA off, kill-switch on). When the two places disagree (a
partition) the plan refuses unless the primary is fenced or force=true. --noop checks for real and
prints the commands; exit 2 when a prerequisite fails. The value reports the RPO per data kind.`,
  params,
  memo: {
    findings: async (ctx) => measure(ctx),
    agents_done: () => Promise.resolve(null),
  },
  steps: [
    {
      name: 'check',
      description: 'the replica is a usable spare; the primary is down (both views) or can be fenced',
      async run(ctx) {
        const found = await findings(ctx);
        report(ctx, found);
        refuseIfBlocked(found);
      },
    },
    {
      name: 'confirm',
      description: 'the operator confirms the server that becomes active (--yes); then every check again',
      async run(ctx) {
        const { replica } = await pairTargets(ctx);
        // TODO(hC): confirmActive(ctx, replica.name) from src/workflow/confirm-active.ts.
        ctx.log(`confirmation: ${replica.name} becomes the active server`);
        const before = await findings(ctx);
        const again = await measure(ctx);
        ctx.memo.set('findings', again);
        if (again.assessment.primary !== before.assessment.primary)
          ctx.log(`the primary changed state meanwhile: ${before.assessment.primary} → ${again.assessment.primary}`);
        report(ctx, again);
        refuseIfBlocked(again);
      },
    },
    {
      name: 'fence_primary',
      description:
        'a primary pef can log in to: Puppet Server and PuppetDB stopped, demoted (passive, CA off, kill-switch on)',
      async run(ctx) {
        const { primary, replica } = await pairTargets(ctx);
        const { assessment } = await findings(ctx);
        if (!assessment.canFence) {
          ctx.log(
            `${primary.name} cannot be reached to fence it (${assessment.primary}): when it comes back, demote it before anything else: pef task run demote -t ${primary.name} peer=${replica.name}`,
          );
          return;
        }
        const facts = await ctx.runTask(discover, [primary]);
        const present = servicesPresent(facts.find(primary.name));
        // Puppet Server first: agents that still list the primary first move on to the replica.
        if (present.length > 0) await ctx.runTask(service, [primary], { action: 'stop', services: present });
        await ctx.runTask(demote, [primary], { peer: replica.name, reason: `failover to ${replica.name}` });
      },
    },
    {
      name: 'stop_replication',
      description: 'the kill-switch on the replica: no transfer from the old primary lands while it is promoted',
      async run(ctx) {
        const { primary, replica } = await pairTargets(ctx);
        const { assessment } = await findings(ctx);
        if (assessment.resumed) {
          ctx.log(`${replica.name} is already active (an active server never receives)`);
          return;
        }
        await ctx.runTask(setMode, [replica], { mode: 'passive', peer: primary.name, replication: 'disabled' });
      },
    },
    {
      name: 'promote',
      description: 'the replica becomes active: mode active, CA on, its services running, Puppet Server answering',
      async run(ctx) {
        const { primary, replica } = await pairTargets(ctx);
        const found = await findings(ctx);
        await ctx.runTask(promote, [replica], { peer: primary.name, force: found.assessment.forced });
        if (ctx.noop) return;
        await waitReady(ctx, found);
      },
    },
    {
      name: 'agents',
      description: "the replica first in each reachable agent's server_list (the others keep theirs)",
      async run(ctx) {
        const agents = await ctx.targets('agent');
        const { replicaCertname } = await findings(ctx);
        if (!replicaCertname) throw new PefError('pef/task-failed', 'the replica did not report its certname');
        if (agents.length === 0) {
          ctx.log(`no agent in the inventory: put ${replicaCertname} first in your agents' server_list`);
          return;
        }
        const set = await ctx.runTask(configureAgents, agents, { first: replicaCertname }, { catchErrors: true });
        const done = set.okSet().map((r) => r.target);
        ctx.memo.set('agents_done', done);
        for (const failed of set.errorSet())
          ctx.log(
            `${failed.target}: server_list not changed (${failed.error?.msg.split('\n')[0] ?? 'failed'}); it keeps working if its server_list already lists ${replicaCertname}`,
          );
      },
    },
    {
      name: 'hooks',
      description: 'the DNS / load-balancer change: points the service name at the replica',
      async run(ctx) {
        const { primary, replica } = await pairTargets(ctx);
        // TODO(hE): runHook(ctx, 'after-failover', …) once hooks exist in the pef config.
        ctx.log(
          `DNS / load balancer: point the name agents use for Puppet at ${replica.name} (it was ${primary.name}); no hook is configured to do it`,
        );
      },
    },
    {
      name: 'verify',
      description: 'an agent run (noop) compiles on the replica, through the agent’s own server_list',
      async run(ctx) {
        if (ctx.noop) {
          ctx.log('verify: the agent run is made for real only once the changes are made');
          return;
        }
        const { replicaCertname } = await findings(ctx);
        const agents = await ctx.targets('agent');
        const done = (await ctx.memo.get('agents_done')) as string[] | null;
        const agent = agents.find((a) => done === null || done.includes(a.name));
        if (!agent || !replicaCertname) {
          ctx.log('no reachable agent in the inventory: the catalog check was skipped');
          return;
        }
        await ctx.runTask(agentCheck, [agent], { expect_server: replicaCertname });
      },
    },
    {
      name: 'report',
      description: 'the RPO suffered per data kind (the age of the replica’s copy at failover time)',
      async run(ctx) {
        const { primary, replica } = await pairTargets(ctx);
        const found = await findings(ctx);
        for (const row of found.rpo)
          ctx.log(
            `RPO ${row.kind}: ${row.age_s === null ? 'unknown' : duration(row.age_s)}${row.last_success ? ` (last received ${row.last_success})` : ''}: ${row.note}`,
          );
        ctx.returns({
          active: replica.name,
          previous: primary.name,
          primary: found.assessment.primary,
          fenced: found.assessment.canFence || found.assessment.fenced,
          forced: found.assessment.forced,
          rpo: found.rpo,
          agents_reconfigured: await ctx.memo.get('agents_done'),
          next_steps: [
            `when ${primary.name} is back and fenced, give ${replica.name} a spare again: pef plan run promote (docs/runbook.md)`,
          ],
        });
      },
    },
  ],
});

async function findings(ctx: PlanContext<FailoverParams>): Promise<Findings> {
  return (await ctx.memo.get('findings')) as Findings;
}

// Every measurement the checks judge, read for real (also under --noop). Sequential on purpose:
// the slow one, the SSH login to a primary that may not answer, comes after the replica's reads.
async function measure(ctx: PlanContext<FailoverParams>): Promise<Findings> {
  const { primary, replica } = await pairTargets(ctx);
  const address = primary.config.ssh.host;
  const probed = (await ctx.runTask(probeStatus, [replica], { servers: [] }, { catchErrors: true })).find(replica.name);
  const replicaProbe = probed?.status === 'success' ? (probed.value as unknown as StatusProbe) : null;
  const seen = (
    await ctx.runTask(
      checkPorts,
      [replica],
      { host: address, ports: [primary.config.ssh.port, PUPPETSERVER_PORT] },
      { catchErrors: true },
    )
  ).find(replica.name);
  const fromController = (
    await ctx.runTask(
      checkPorts,
      [controllerTarget()],
      { host: address, ports: [PUPPETSERVER_PORT] },
      { catchErrors: true },
    )
  ).find(controllerTarget().name);
  const login = (await ctx.runTask(checkConnection, [primary], { expect_user: 'root' }, { catchErrors: true })).find(
    primary.name,
  );
  let primaryState: PrimaryViews['primaryState'] = null;
  if (login?.status === 'success') {
    const read = (await ctx.runTask(probeStatus, [primary], { servers: [] }, { catchErrors: true })).find(primary.name);
    const replication = read?.status === 'success' ? (read.value as unknown as StatusProbe).replication : null;
    if (replication)
      primaryState = { mode: replication.mode?.mode ?? null, killSwitch: replication.killSwitch !== null };
  }
  const views: PrimaryViews = {
    controllerLogin:
      login?.status === 'success'
        ? { ok: true }
        : { ok: false, kind: login?.error?.kind ?? 'pef/unknown', message: login?.error?.msg ?? 'no result' },
    controller8140: portAnswer(fromController, PUPPETSERVER_PORT),
    fromReplica:
      seen?.status === 'success'
        ? { ssh: portAnswer(seen, primary.config.ssh.port), puppetserver: portAnswer(seen, PUPPETSERVER_PORT) }
        : null,
    primaryState,
  };
  const assessment = assessFailover({
    primaryName: primary.name,
    replicaName: replica.name,
    views,
    replica: replicaProbe,
    replicaError: probed?.error?.msg.split('\n')[0] ?? null,
    force: ctx.params.force,
  });
  return {
    assessment,
    replica: replicaProbe,
    replicaCertname: replicaProbe?.certname ?? null,
    rpo: replicaProbe ? rpoReport(replicaProbe) : [],
  };
}

function portAnswer(result: Result | undefined, port: number): PortAnswer {
  const ports =
    result?.status === 'success' ? (result.value['ports'] as Record<string, PortAnswer> | undefined) : undefined;
  return ports?.[String(port)] ?? { state: 'unknown', detail: result?.error?.msg.split('\n')[0] ?? 'not measured' };
}

function report(ctx: PlanContext<FailoverParams>, found: Findings): void {
  for (const f of found.assessment.findings) ctx.log(`${f.status}: ${f.check}: ${f.message}`);
  const oldest = found.rpo.filter((r) => r.age_s !== null).sort((a, b) => (b.age_s ?? 0) - (a.age_s ?? 0))[0];
  if (oldest)
    ctx.log(
      `replica's data: ${oldest.kind} is the oldest, ${duration(oldest.age_s ?? 0)} old (the RPO if it fails over now)`,
    );
}

function refuseIfBlocked(found: Findings): void {
  const { blockers, primary } = found.assessment;
  if (blockers.length > 0)
    throw new PefError(
      'pef/task-failed',
      `failover refused, nothing was changed:\n${blockers.map((b) => `- ${b}`).join('\n')}`,
      { primary, blockers },
    );
}

// The primary's services that serve agents and take their data (oss names, or PE's); the
// database stays up: it is what a failback or a post-mortem reads.
function servicesPresent(result: Result | undefined): string[] {
  const services = result?.value['services'];
  if (!Array.isArray(services)) return [];
  const wanted = ['puppetserver', 'puppetdb', 'pe-puppetserver', 'pe-puppetdb'];
  return (services as { name?: unknown; present?: unknown }[])
    .filter((s) => s.present === true && typeof s.name === 'string' && wanted.includes(s.name))
    .map((s) => s.name as string);
}

// The promoted Puppet Server answers /status/v1/simple, asked on the replica itself.
async function waitReady(ctx: PlanContext<FailoverParams>, found: Findings): Promise<void> {
  const { replica } = await pairTargets(ctx);
  const name = found.replicaCertname;
  if (!name) throw new PefError('pef/task-failed', `${replica.name} did not report its certname`);
  const deadline = Date.now() + ctx.params.ready_timeout_s * 1000;
  for (;;) {
    const read = (await ctx.runTask(probeStatus, [replica], { servers: [name] }, { catchErrors: true })).find(
      replica.name,
    );
    const answer = read?.status === 'success' ? (read.value as unknown as StatusProbe).answers[name] : undefined;
    if (answer?.answers) {
      ctx.log(`${replica.name}'s Puppet Server answers: running`);
      return;
    }
    if (Date.now() >= deadline)
      throw new PefError(
        'pef/task-failed',
        `${replica.name} is active but its Puppet Server does not answer /status/v1/simple (${answer?.detail ?? read?.error?.msg ?? 'no answer'}). Look at its log, start it, then resume: pef plan run failover --from promote`,
        { answer: answer?.detail ?? null },
      );
    await new Promise((r) => setTimeout(r, 3000));
  }
}
