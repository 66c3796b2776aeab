/**
 * The steps that make a warm spare, shared by the plans that build one: `setup` (the inventory's
 * primary sends to its replica), `promote` (the server active after a failover sends to a new
 * spare) and `failback` (the active server sends back to the original primary before switching to
 * it). Each plan says which pair through the SETUP_PAIR memo key (setupMemo); the steps never read
 * the inventory's roles themselves, so the same steps run in either direction.
 *
 * The order is pe_failover's (seed 000) made resumable: the spare gets the sender's versions, a
 * transfer channel, the CA (after the serial is padded so the two CAs never collide), its own
 * servers, the data, the modes and the host-side replication jobs; then the agents learn both
 * servers and each server proves it can compile a catalog for them.
 */
import { z } from 'zod';
import { PefError } from '../../src/errors/pef-error.js';
import type { MemoCompute, PlanContext, PlanStep } from '../../src/plan/plan.js';
import type { Pair } from '../../src/workflow/pair.js';
import { pairStatus } from './pair-status.js';
import { serverNames, type ServerNames } from './server-names.js';
import {
  classificationPass,
  databasePasses,
  failIfPassesFailed,
  FAILED_PASSES,
  puppetdbReconcile,
  secretsPass,
} from './data-passes.js';
import { agentCheck } from '../../tasks/agent-check.js';
import { checkConnection } from '../../tasks/check-connection.js';
import { checkPair } from '../../tasks/check-pair.js';
import { configureAgents } from '../../tasks/configure-agents.js';
import { configurePuppetdbBroadcast } from '../../tasks/configure-puppetdb-broadcast.js';
import { configureReplica } from '../../tasks/configure-replica.js';
import { installReplication } from '../../tasks/install-replication.js';
import { copySecrets } from '../../tasks/copy-secrets.js';
import { infraStatus } from '../../tasks/infra-status.js';
import { installAgent } from '../../tasks/install-agent.js';
import { padSerial } from '../../tasks/pad-serial.js';
import { provisionReplica } from '../../tasks/provision-replica.js';
import { setMode } from '../../tasks/set-mode.js';
import { setupTransfer } from '../../tasks/setup-transfer.js';
import { syncCa } from '../../tasks/sync-ca.js';
import { readServers } from './read-servers.js';

/** The memo key holding the Pair the steps build: `primary` sends, `replica` becomes its spare. */
export const SETUP_PAIR = 'setup_pair';

/** The memo key holding that pair's certnames and flavor (ServerNames). */
export const SETUP_SERVERS = 'setup_servers';

/** The parameters the setup steps read; plans that run them spread these into their own schema. */
export const SETUP_PARAMS = {
  code: z
    .enum(['report', 'rsync'])
    .default('report')
    .describe("oss: report code (environments/) that differs between the servers, or rsync the sender's to the spare"),
  interval_s: z
    .number()
    .int()
    .min(10)
    .default(60)
    .describe("seconds between the host-side jobs' timer passes (a CA change triggers a pass at once)"),
  strategy: z
    .enum(['warm-spare', 'native'])
    .default('warm-spare')
    .describe(
      "warm-spare: a second, standalone primary kept in sync by pef (pe_failover's method; the only one for open source Puppet); native: PE's own replica (puppet infrastructure)",
    ),
};

/** What the setup steps read from a plan's params. */
export interface SetupStepParams {
  code: 'report' | 'rsync';
  interval_s: number;
  strategy: 'warm-spare' | 'native';
}

type Ctx = PlanContext<SetupStepParams>;

/** The memo declarations the setup steps need, for the pair `pair` computes. */
export function setupMemo<P>(pair: MemoCompute<P>): Record<string, MemoCompute<P>> {
  return {
    [SETUP_PAIR]: pair,
    [SETUP_SERVERS]: async (ctx) => serverNames(ctx, (await ctx.memo.get(SETUP_PAIR)) as Pair),
    [FAILED_PASSES]: () => Promise.resolve([] as string[]),
  };
}

/** The pair the setup steps work on (from the plan's SETUP_PAIR memo). */
export async function setupPair(ctx: PlanContext<unknown>): Promise<Pair> {
  return (await ctx.memo.get(SETUP_PAIR)) as Pair;
}

/** The setup steps, in order; `except` leaves some out (failback has its own agents and verify). */
export function setupSteps(except: readonly string[] = []): PlanStep<SetupStepParams>[] {
  return STEPS.filter((step) => !except.includes(step.name));
}

const STEPS: PlanStep<SetupStepParams>[] = [
  {
    name: 'preflight',
    description: 'the sender and the spare reachable as root, same flavor and versions, disk, clocks',
    async run(ctx) {
      const { primary, replica } = await setupPair(ctx);
      await ctx.runTask(checkConnection, [primary, replica, ...(await ctx.targets('agent'))], { expect_user: 'root' });
      await ctx.runTask(checkPair, [primary], { replica: replica.name });
      const servers = await names(ctx);
      if (ctx.params.strategy === 'native' && servers.flavor !== 'pe')
        throw new PefError(
          'pef/validation-error',
          "strategy=native drives Puppet Enterprise's own replica; open source Puppet has only strategy=warm-spare (the default).",
          { strategy: ctx.params.strategy, flavor: servers.flavor },
        );
    },
  },
  {
    name: 'install_agent',
    description: "the spare gets the sender's Puppet versions",
    async run(ctx) {
      const { primary, replica } = await setupPair(ctx);
      await ctx.runTask(installAgent, [replica], { source: primary.name });
    },
  },
  {
    name: 'setup_transfer',
    description: 'the restricted transfer channel from the sender to the spare',
    async run(ctx) {
      const { primary, replica } = await setupPair(ctx);
      await ctx.runTask(setupTransfer, [primary], { receiver: replica.name });
    },
  },
  {
    name: 'pad_serial',
    description: "the sender's CA serial padded, so certificates the spare signs never collide",
    async run(ctx) {
      const { primary } = await setupPair(ctx);
      await ctx.runTask(padSerial, [primary], {});
    },
  },
  {
    name: 'receive',
    description:
      'a spare that was fenced or had replication switched off (a rebuild after a failover) set passive, receiving',
    async run(ctx) {
      const { primary, replica } = await setupPair(ctx);
      const state = (await readServers(ctx, [replica])).get(replica.name)?.probe?.replication;
      const mode = state?.mode?.mode ?? null;
      // Only a server known not to be active: a fresh spare gets its mode at the modes step, and an
      // active one is the split-brain guard's case (promote and failback refuse it before this).
      if (!(mode === 'fenced' || (mode === 'passive' && state?.killSwitch))) {
        ctx.log(
          `${replica.name} is ${mode ?? 'without a mode'}${state?.killSwitch ? ', kill-switch on' : ''}: nothing to do`,
        );
        return;
      }
      await ctx.runTask(setMode, [replica], { mode: 'passive', peer: primary.name, replication: 'enabled' });
    },
  },
  {
    name: 'sync_ca',
    description: "the CA copied to the spare, and the spare's certificate from it",
    async run(ctx) {
      const { primary, replica } = await setupPair(ctx);
      await ctx.runTask(syncCa, [primary], { receiver: replica.name });
    },
  },
  {
    name: 'replica_servers',
    description: "oss: the spare's own Puppet Server (CA off) and PuppetDB on its own database, healthy",
    async run(ctx) {
      if ((await names(ctx)).flavor !== 'oss') return;
      const { primary, replica } = await setupPair(ctx);
      await ctx.runTask(configureReplica, [primary], { receiver: replica.name, code: ctx.params.code });
    },
  },
  {
    name: 'seed_puppetdb',
    description: "oss: the spare's PuppetDB seeded from the sender's when it lacks nodes",
    async run(ctx) {
      if ((await names(ctx)).flavor === 'oss') await puppetdbReconcile(ctx, 'missing', await setupPair(ctx));
    },
  },
  {
    name: 'stream_puppetdb',
    description: "oss: the sender's Puppet Server sends every PuppetDB command to both PuppetDBs",
    async run(ctx) {
      if ((await names(ctx)).flavor !== 'oss') return;
      const { primary, replica } = await setupPair(ctx);
      await ctx.runTask(configurePuppetdbBroadcast, [primary], { receiver: replica.name });
    },
  },
  {
    name: 'pe_data',
    description: 'PE warm-spare: classification, RBAC and orchestrator databases, secrets (first full pass)',
    async run(ctx) {
      if ((await names(ctx)).flavor !== 'pe' || ctx.params.strategy !== 'warm-spare') return;
      const pair = await setupPair(ctx);
      await classificationPass(ctx, { pair });
      await databasePasses(ctx, { pair });
      await secretsPass(ctx, { pair });
      await failIfPassesFailed(ctx);
    },
  },
  {
    name: 'pe_native_replica',
    description: "PE native: the secrets (keys.json) copied, then PE's own replica provisioned and enabled",
    async run(ctx) {
      if (ctx.params.strategy !== 'native') return;
      const { primary, replica } = await setupPair(ctx);
      // Before provisioning: a replica that made its own keys could not decrypt the primary's data once promoted.
      await ctx.runTask(copySecrets, [primary], { replica: replica.name });
      await ctx.runTask(provisionReplica, [primary], { replica: replica.name, enable: true });
      await ctx.runTask(infraStatus, [primary]);
    },
  },
  {
    name: 'modes',
    description: 'the sender active, the spare passive, replication on',
    async run(ctx) {
      const { primary, replica } = await setupPair(ctx);
      const oss = (await names(ctx)).flavor === 'oss';
      await ctx.runTask(setMode, [primary], { mode: 'active', peer: replica.name, replication: 'enabled' });
      // Only one CA signs: the spare's copy is a mirror until a promotion turns it on.
      await ctx.runTask(setMode, [replica], {
        mode: 'passive',
        peer: primary.name,
        replication: 'enabled',
        ...(oss ? { ca: 'disabled' as const } : {}),
      });
    },
  },
  {
    name: 'replication',
    description: 'the host-side jobs that keep the CA in sync with no pef process running',
    async run(ctx) {
      const { primary, replica } = await setupPair(ctx);
      await ctx.runTask(installReplication, [primary], { receiver: replica.name, interval_s: ctx.params.interval_s });
    },
  },
  {
    name: 'agents',
    description: "the inventory's agents list the sender, then the spare (server_list)",
    async run(ctx) {
      const agents = await ctx.targets('agent');
      const servers = await names(ctx);
      if (agents.length > 0)
        await ctx.runTask(configureAgents, agents, { server_list: [servers.primary, servers.replica] });
      ctx.log(fleetAdvice(servers));
    },
  },
  {
    name: 'verify',
    description: 'an agent gets a catalog from each server; the status is healthy',
    async run(ctx) {
      if (ctx.noop) {
        ctx.log('verify: catalogs and status are checked for real only once the changes are made');
        return;
      }
      const agents = (await ctx.targets('agent')).slice(0, 1);
      const servers = await names(ctx);
      if (agents.length === 0)
        ctx.log('no agent in the inventory: the catalog checks were skipped (add one with vars.role: agent)');
      else
        for (const server of [servers.primary, servers.replica])
          await ctx.runTask(agentCheck, agents, { server_list: [server], expect_server: server });
      const status = await pairStatus(ctx, await setupPair(ctx));
      if (!status.healthy)
        throw new PefError(
          'pef/task-failed',
          `the spare is set up but the pair is not healthy yet:\n${status.problems.map((p) => `- ${p}`).join('\n')}\nSee \`pef status\`.`,
          { problems: status.problems },
        );
      ctx.log(`healthy: ${status.active ?? '?'} active, ${status.replica ?? '?'} its warm spare`);
    },
  },
];

async function names(ctx: Ctx): Promise<ServerNames> {
  return (await ctx.memo.get(SETUP_SERVERS)) as ServerNames;
}

// More agents than an inventory lists get server_list from Puppet itself, not from pef.
function fleetAdvice(servers: ServerNames): string {
  const list = `${servers.primary},${servers.replica}`;
  return servers.flavor === 'pe'
    ? `For the rest of the fleet: set server_list through classification, in the PE Agent node group: class puppet_enterprise::profile::agent, parameter server_list = ["${servers.primary}", "${servers.replica}"] (docs/plans.md, "setup").`
    : `For the rest of the fleet: manage puppet.conf [main] server_list = ${list} in your own Puppet code (e.g. an ini_setting resource), so every agent can fail over (docs/plans.md, "setup").`;
}
