/**
 * failover: the active server is gone (or must be abandoned now); make its spare the active one.
 * Unplanned, so unlike a switchover nothing is synced first: the report says how old the spare's
 * copy of each data kind was (the RPO actually suffered). Which server is active comes from the
 * servers' modes, not the inventory's roles (after a switchover they differ); `to=` names the
 * server to promote when the modes cannot tell (e.g. resuming after fence_primary).
 *
 * The order is the runbook's, each step resumable with --from: establish that the active server is
 * down (silent from the controller AND from the spare) or fence it if pef can still log in; refuse
 * a partition (the two places disagree) unless it is fenced or force=true; confirm; check again;
 * the before-failover hook; stop replication into the spare (kill-switch); promote it (mode active,
 * CA on, Puppet Server answering); put it first in the reachable agents' server_list (agents that
 * already list it keep working meanwhile); the after-failover hook (DNS / load balancer); prove an
 * agent run compiles on it. `--noop` runs every check for real, prints every command the steps
 * would run, and fails (exit 2) when a prerequisite does.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import type { Result } from '../src/executor/result.js';
import type { Target } from '../src/inventory/target.js';
import type { PlanContext } from '../src/plan/plan.js';
import { definePlan } from '../src/plan/plan.js';
import { rpoReport, type RpoRow } from '../src/replication/rpo-report.js';
import { duration } from '../src/replication/status-jobs.js';
import type { StatusProbe } from '../src/replication/status-probe.js';
import { confirmActive } from '../src/workflow/confirm-active.js';
import { controllerTarget } from '../src/workflow/controller-target.js';
import {
  assessFailover,
  failoverDirection,
  type FailoverAssessment,
  type FailoverReading,
  type PrimaryViews,
} from '../src/workflow/failover-checks.js';
import { pairTargets } from '../src/workflow/pair.js';
import type { PortAnswer } from '../src/host/port-probe.js';
import { PUPPETSERVER_PORT } from '../src/replication/status-probe.js';
import { agentCheck } from '../tasks/agent-check.js';
import { checkPorts } from '../tasks/check-ports.js';
import { configureAgents } from '../tasks/configure-agents.js';
import { demote } from '../tasks/demote.js';
import { discover } from '../tasks/discover.js';
import { probeStatus } from '../tasks/probe-status.js';
import { promote } from '../tasks/promote.js';
import { service } from '../tasks/service.js';
import { setMode } from '../tasks/set-mode.js';

const params = z.object({
  to: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/)
    .optional()
    .describe(
      "the server to make active (inventory name); default: the passive one, from the servers' modes (needed to resume after fence_primary or promote)",
    ),
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
  /** The server left (the active one that failed) and the one made active (its spare). */
  from: Target;
  to: Target;
  assessment: FailoverAssessment;
  /** The spare's certname: what agents and agent_check call it. */
  toCertname: string | null;
  rpo: RpoRow[];
}

/** The failover; see the file comment. */
export const failover = definePlan({
  name: 'failover',
  description:
    'Unplanned failover: establish the active server is down or fence it, promote its spare, repoint agents, report the RPO',
  details: `Steps: check, confirm, hook_before, fence_primary, stop_replication, promote, agents, hook_after, verify, report.
The server failed over from is the active one (by the servers' modes, not the inventory's roles;
to=<name> names the one to make active). It is called down only when it is silent from the
controller (SSH, 8140) and from the spare (its SSH port and 8140); one pef can log in to is fenced
first (Puppet Server and PuppetDB stopped, demoted: passive, CA off, kill-switch on). When the two
places disagree (a partition) the plan refuses unless it is fenced or force=true. --noop checks for
real and prints the commands; exit 2 when a prerequisite fails. The value reports the RPO per kind.`,
  params,
  memo: {
    findings: async (ctx) => measure(ctx),
    agents_done: () => Promise.resolve(null),
    hook_failed: () => Promise.resolve(null),
  },
  steps: [
    {
      name: 'check',
      description: 'the spare is usable; the active server is down (both views) or can be fenced',
      async run(ctx) {
        const found = await findings(ctx);
        report(ctx, found);
        refuseIfBlocked(found);
      },
    },
    {
      name: 'confirm',
      description: 'type the name of the server that becomes active (--yes answers it); then every check again',
      async run(ctx) {
        const before = await findings(ctx);
        await confirmActive(ctx, before.to.name);
        // A dry run asked nothing, so nothing can have changed since its checks.
        if (ctx.noop) return;
        const again = await measure(ctx);
        ctx.memo.set('findings', again);
        if (again.to.name !== before.to.name || again.assessment.primary !== before.assessment.primary)
          ctx.log(
            `the state changed while confirming: ${before.from.name} ${before.assessment.primary} → ${again.from.name} ${again.assessment.primary}`,
          );
        report(ctx, again);
        refuseIfBlocked(again);
        if (again.to.name !== before.to.name)
          throw new PefError('pef/task-failed', `the server to make active changed while confirming; run again`, {});
      },
    },
    {
      name: 'hook_before',
      description: 'the before-failover hook from the pef config, if any (a failing one stops the plan here)',
      async run(ctx) {
        await ctx.runHook('before-failover', hookEnv(await findings(ctx)));
      },
    },
    {
      name: 'fence_primary',
      description:
        'an active server pef can log in to: Puppet Server and PuppetDB stopped, demoted (passive, CA off, kill-switch on)',
      async run(ctx) {
        const { from, to, assessment } = await findings(ctx);
        if (!assessment.canFence) {
          ctx.log(
            `${from.name} cannot be reached to fence it (${assessment.primary}): when it comes back, demote it before anything else: pef task run demote -t ${from.name} peer=${to.name}`,
          );
          return;
        }
        const facts = await ctx.runTask(discover, [from]);
        const present = servicesPresent(facts.find(from.name));
        // Puppet Server first: agents that still list this server first move on to the spare.
        if (present.length > 0) await ctx.runTask(service, [from], { action: 'stop', services: present });
        await ctx.runTask(demote, [from], { peer: to.name, reason: `failover to ${to.name}` });
      },
    },
    {
      name: 'stop_replication',
      description: 'the kill-switch on the spare: no transfer from the old primary lands while it is promoted',
      async run(ctx) {
        const { from, to, assessment } = await findings(ctx);
        if (assessment.resumed) {
          ctx.log(`${to.name} is already active (an active server never receives)`);
          return;
        }
        await ctx.runTask(setMode, [to], { mode: 'passive', peer: from.name, replication: 'disabled' });
      },
    },
    {
      name: 'promote',
      description: 'the spare becomes active: mode active, CA on, its services running, Puppet Server answering',
      async run(ctx) {
        const found = await findings(ctx);
        // A forced promotion names the server it overrides, as the split-brain guard asks (confirm=).
        await ctx.runTask(promote, [found.to], {
          peer: found.from.name,
          force: found.assessment.forced,
          ...(found.assessment.forced ? { confirm: found.from.name } : {}),
        });
        if (ctx.noop) return;
        await waitReady(ctx, found);
      },
    },
    {
      name: 'agents',
      description: "the new active server first in each reachable agent's server_list (the others kept)",
      async run(ctx) {
        const agents = await ctx.targets('agent');
        const { to, toCertname } = await findings(ctx);
        if (!toCertname) throw new PefError('pef/task-failed', `${to.name} did not report its certname`);
        if (agents.length === 0) {
          ctx.log(`no agent in the inventory: put ${toCertname} first in your agents' server_list`);
          return;
        }
        const set = await ctx.runTask(configureAgents, agents, { first: toCertname }, { catchErrors: true });
        ctx.memo.set(
          'agents_done',
          set.okSet().map((r) => r.target),
        );
        for (const failed of set.errorSet())
          ctx.log(
            `${failed.target}: server_list not changed (${failed.error?.msg.split('\n')[0] ?? 'failed'}); it keeps working if its server_list already lists ${toCertname}`,
          );
      },
    },
    {
      name: 'hook_after',
      description: 'the after-failover hook (DNS / load balancer): points the service name at the new active server',
      async run(ctx) {
        const found = await findings(ctx);
        const outcome = await ctx.runHook('after-failover', hookEnv(found));
        if (outcome.ran.length === 0 && !outcome.noop)
          ctx.log(
            `no after-failover hook is configured: if agents reach Puppet by a DNS name or a load balancer, point it at ${found.to.name} now (docs/runbook.md)`,
          );
        if (!outcome.ok) ctx.memo.set('hook_failed', outcome.error ?? 'failed');
      },
    },
    {
      name: 'verify',
      description: "an agent run (noop) compiles on the new active server, through the agent's own server_list",
      async run(ctx) {
        if (ctx.noop) {
          ctx.log('verify: the agent run is made for real only once the changes are made');
          return;
        }
        const { toCertname } = await findings(ctx);
        const done = (await ctx.memo.get('agents_done')) as string[] | null;
        const agent = (await ctx.targets('agent')).find((a) => done === null || done.includes(a.name));
        if (!agent || !toCertname) {
          ctx.log('no reachable agent in the inventory: the catalog check was skipped');
          return;
        }
        await ctx.runTask(agentCheck, [agent], { expect_server: toCertname });
      },
    },
    {
      name: 'report',
      description: "the RPO suffered per data kind (the age of the spare's copy at failover time)",
      async run(ctx) {
        const found = await findings(ctx);
        for (const row of found.rpo)
          ctx.log(
            `RPO ${row.kind}: ${row.age_s === null ? 'unknown' : duration(row.age_s)}${row.last_success ? ` (last received ${row.last_success})` : ''}: ${row.note}`,
          );
        ctx.returns({
          active: found.to.name,
          previous: found.from.name,
          primary: found.assessment.primary,
          fenced: found.assessment.canFence || found.assessment.fenced,
          forced: found.assessment.forced,
          rpo: found.rpo,
          agents_reconfigured: await ctx.memo.get('agents_done'),
          next_steps: [
            `when ${found.from.name} is back and fenced, give ${found.to.name} a spare again (docs/runbook.md, "After a failover")`,
          ],
        });
        const hookFailed = (await ctx.memo.get('hook_failed')) as string | null;
        // Everything else is done; the exit status must still tell a script the name was not switched.
        if (hookFailed !== null)
          throw new PefError(
            'pef/hook-failed',
            `${found.to.name} is active, but the after-failover hook failed (${hookFailed}): agents that reach Puppet by that name still go to ${found.from.name}. Fix it and run the hook again: pef plan run failover to=${found.to.name} --from hook_after`,
            { hook: 'after-failover' },
          );
      },
    },
  ],
});

// What hooks learn about the failover (names only; hooks never receive secrets).
function hookEnv(found: Findings): Record<string, string> {
  return {
    PEF_ACTIVE: found.to.name,
    PEF_PREVIOUS: found.from.name,
    PEF_ACTIVE_HOST: found.to.config.ssh.host,
    ...(found.toCertname ? { PEF_ACTIVE_CERTNAME: found.toCertname } : {}),
  };
}

async function findings(ctx: PlanContext<FailoverParams>): Promise<Findings> {
  return (await ctx.memo.get('findings')) as Findings;
}

// Every measurement the checks judge, read for real (also under --noop). Sequential on purpose:
// a server that does not answer costs its connect timeout once (the pool does not retry it).
async function measure(ctx: PlanContext<FailoverParams>): Promise<Findings> {
  const pair = await pairTargets(ctx);
  const reads = new Map<string, Result | undefined>();
  for (const server of [pair.replica, pair.primary])
    reads.set(
      server.name,
      (await ctx.runTask(probeStatus, [server], { servers: [] }, { catchErrors: true })).find(server.name),
    );
  const probeOf = (name: string): StatusProbe | null => {
    const read = reads.get(name);
    return read?.status === 'success' ? (read.value as unknown as StatusProbe) : null;
  };
  const reading = (name: string): FailoverReading =>
    probeOf(name)?.replication.mode?.mode ?? (probeOf(name) ? null : 'unreadable');
  const names = failoverDirection(
    [pair.primary.name, pair.replica.name],
    { [pair.primary.name]: reading(pair.primary.name), [pair.replica.name]: reading(pair.replica.name) },
    ctx.params.to,
  );
  const [from, to] = [names.from, names.to].map((n) => (n === pair.primary.name ? pair.primary : pair.replica)) as [
    Target,
    Target,
  ];
  const address = from.config.ssh.host;
  const seen = (
    await ctx.runTask(
      checkPorts,
      [to],
      { host: address, ports: [from.config.ssh.port, PUPPETSERVER_PORT] },
      { catchErrors: true },
    )
  ).find(to.name);
  const controller = controllerTarget();
  const fromController = (
    await ctx.runTask(checkPorts, [controller], { host: address, ports: [PUPPETSERVER_PORT] }, { catchErrors: true })
  ).find(controller.name);
  // The active server's probe_status is the controller's login: it ran commands there, or why not.
  const login = reads.get(from.name);
  const fromProbe = probeOf(from.name);
  const views: PrimaryViews = {
    controllerLogin: fromProbe
      ? { ok: true }
      : { ok: false, kind: login?.error?.kind ?? 'pef/unknown', message: login?.error?.msg ?? 'no result' },
    controller8140: portAnswer(fromController, PUPPETSERVER_PORT),
    fromReplica:
      seen?.status === 'success'
        ? { ssh: portAnswer(seen, from.config.ssh.port), puppetserver: portAnswer(seen, PUPPETSERVER_PORT) }
        : null,
    primaryState: fromProbe
      ? { mode: fromProbe.replication.mode?.mode ?? null, killSwitch: fromProbe.replication.killSwitch !== null }
      : null,
  };
  const toProbe = probeOf(to.name);
  const assessment = assessFailover({
    primaryName: from.name,
    replicaName: to.name,
    views,
    replica: toProbe,
    replicaError: reads.get(to.name)?.error?.msg.split('\n')[0] ?? null,
    force: ctx.params.force,
  });
  return { from, to, assessment, toCertname: toProbe?.certname ?? null, rpo: toProbe ? rpoReport(toProbe) : [] };
}

function portAnswer(result: Result | undefined, port: number): PortAnswer {
  const ports =
    result?.status === 'success' ? (result.value['ports'] as Record<string, PortAnswer> | undefined) : undefined;
  return ports?.[String(port)] ?? { state: 'unknown', detail: result?.error?.msg.split('\n')[0] ?? 'not measured' };
}

function report(ctx: PlanContext<FailoverParams>, found: Findings): void {
  ctx.log(`failover: ${found.from.name} -> ${found.to.name}`);
  for (const f of found.assessment.findings) ctx.log(`${f.status}: ${f.check}: ${f.message}`);
  const oldest = found.rpo.filter((r) => r.age_s !== null).sort((a, b) => (b.age_s ?? 0) - (a.age_s ?? 0))[0];
  if (oldest)
    ctx.log(
      `${found.to.name}'s oldest data: ${oldest.kind}, ${duration(oldest.age_s ?? 0)} old (the RPO of a failover now)`,
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

// The services that serve agents and take their data (oss names, or PE's); the database stays
// up: it is what a failback or a post-mortem reads.
function servicesPresent(result: Result | undefined): string[] {
  const services = result?.value['services'];
  if (!Array.isArray(services)) return [];
  const wanted = ['puppetserver', 'puppetdb', 'pe-puppetserver', 'pe-puppetdb'];
  return (services as { name?: unknown; present?: unknown }[])
    .filter((s) => s.present === true && typeof s.name === 'string' && wanted.includes(s.name))
    .map((s) => s.name as string);
}

// The promoted Puppet Server answers /status/v1/simple, asked on that server itself.
async function waitReady(ctx: PlanContext<FailoverParams>, found: Findings): Promise<void> {
  const { to, toCertname: name } = found;
  if (!name) throw new PefError('pef/task-failed', `${to.name} did not report its certname`);
  const deadline = Date.now() + ctx.params.ready_timeout_s * 1000;
  for (;;) {
    const read = (await ctx.runTask(probeStatus, [to], { servers: [name] }, { catchErrors: true })).find(to.name);
    const answer = read?.status === 'success' ? (read.value as unknown as StatusProbe).answers[name] : undefined;
    if (answer?.answers) {
      ctx.log(`${to.name}'s Puppet Server answers: running`);
      return;
    }
    if (Date.now() >= deadline)
      throw new PefError(
        'pef/task-failed',
        `${to.name} is active but its Puppet Server does not answer /status/v1/simple (${answer?.detail ?? read?.error?.msg ?? 'no answer'}). Look at its log, start it, then resume: pef plan run failover to=${to.name} --from promote`,
        { answer: answer?.detail ?? null },
      );
    await new Promise((r) => setTimeout(r, 3000));
  }
}
