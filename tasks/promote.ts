/**
 * promote: make this server the active one. Sets mode active (marker + fact), clears its
 * replication kill-switch (an active server sends, and by the mode rule never receives, so a
 * returning old primary cannot overwrite it), enables the CA service, makes sure the server's
 * services run, and points its own server settings that named the peer (puppet.conf's server,
 * ca_server, report_server) at itself, so `puppetserver ca` there reaches the live CA. Before
 * changing anything it looks at the peer: a peer that still says `active`
 * is refused unless force=true (two active primaries confuse agents and fork the CA); a peer that
 * cannot be reached is noted, not fatal (at 3 a.m. the primary is usually dead, which is why we
 * are here).
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { KNOWN_SERVICES, discoverHost } from '../src/host/discover.js';
import { writeFileCommand } from '../src/host/files.js';
import { readServiceStatus, serviceCommand, startOrder } from '../src/host/services.js';
import { applyMode, changedBy, factsDirParam } from '../src/puppet/apply-mode.js';
import { KILL_SWITCH_FILE, PEF_STATE_DIR, readReplicationState, renderKillSwitch } from '../src/puppet/mode.js';
import { EPOCH_FILE, nextEpoch, usableEpoch } from '../src/puppet/epoch.js';
import { checkPeer } from '../src/puppet/peer-check.js';
import { checkCertname } from '../src/puppet/names.js';
import { parsePuppetConf, puppetConfReadCommand, repointCommands } from '../src/puppet/puppet-conf.js';
import { splitBrainGuard } from '../src/puppet/split-brain-guard.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

/** Promotes this server to active; see the file comment. */
export const promote = defineTask({
  name: 'promote',
  description:
    'Make this server the active primary: mode active, replication kill-switch off, CA service on, services running',
  details: `Run on the server to promote (usually the replica) with peer=<the other server>.
Raises this server's promotion epoch (${EPOCH_FILE}) to one more than the higher of its own and the
peer's, so a returning old primary fences itself. The split-brain guard: refuses (pef/split-brain-guard,
exit 2, nothing changed) while the peer is reachable and active (not fenced), or up but its state or
epoch cannot be read, unless force=true with confirm=<the peer's inventory name> (prompted on a
terminal); with force, a reachable active peer also gets its replication switched off.
An unreachable peer is reported in the value (peer_check), not an error.
Refuses to enable the CA where there is no CA (run sync_ca first). On PE, ca=manage is refused:
PE sets the CA by classification (see docs/tasks.md).`,
  params: z.object({
    peer: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]+$/)
      .optional()
      .describe("the other server (inventory name); default: the peer recorded in this host's mode file"),
    force: z
      .boolean()
      .default(false)
      .describe('promote even when the peer still says active or cannot be checked (needs confirm=<peer> too)'),
    confirm: z
      .string()
      .optional()
      .describe("with force=true: the peer's inventory name, confirming the forced promotion (asked on a terminal)"),
    ca: z
      .enum(['manage', 'leave'])
      .default('manage')
      .describe('manage: enable the CA service (open source); leave: do not touch it (PE, external CA)'),
    services: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'services that must run afterwards (default: the server services present here, e.g. postgresql, puppetdb, puppetserver)',
      ),
    facts_dir: factsDirParam,
  }),
  supportsNoop: true,
  // Long on purpose: it reads as the runbook it replaces, each step in order with its refusal
  // beside it; the step helpers live in src/.
  async run(ctx) {
    const name = ctx.target.name;
    const facts = await discoverHost((c) => ctx.read(c));
    const own = await readReplicationState(ctx);
    const peerName = ctx.params.peer ?? own.mode?.peer ?? null;
    if (peerName === name)
      throw new PefError(
        'pef/param-error',
        `promote on ${name}: peer=${peerName} names this host itself; give the other server.`,
        { peer: peerName },
      );
    const { check, state: peerState } = await checkPeer(ctx, peerName);

    const ownEpoch = usableEpoch(own.epoch, name);

    // The split-brain guard: a peer that answers as active (not fenced), or whose state or epoch
    // cannot be established, may be serving agents; promoting now would make two primaries.
    const peerActive = peerState?.mode?.mode === 'active';
    const peerUnchecked = peerName !== null && (check.reachable === null || peerState?.epoch === 'invalid');
    const forced = await splitBrainGuard(
      {
        task: 'promote',
        host: name,
        other: peerName ?? '',
        refusal: peerActive
          ? `promote refused on ${name}: the peer ${peerName} is reachable and still active (${peerState?.mode?.changedAt ? `since ${peerState.mode.changedAt}` : 'mode file'}). ` +
            `Two active primaries confuse agents and fork the CA. Demote it first (\`pef task run demote -t ${peerName}\`), ` +
            `or, if it is up but must not be used, run promote again with force=true confirm=${peerName}. Nothing was changed.`
          : peerUnchecked
            ? `promote refused on ${name}: ${peerState?.epoch === 'invalid' ? `${peerName}'s epoch file (${EPOCH_FILE}) holds no valid epoch` : check.note}. It may be up and active. ` +
              `Fix access to it and retry, or run promote with force=true confirm=${peerName} if it is known to be out of service. Nothing was changed.`
            : null,
        force: ctx.params.force,
        confirm: ctx.params.confirm,
        details: { peer: check },
      },
      ctx.prompter,
    );
    // Raised only when this server becomes active: a second run changes nothing.
    const peerEpoch = typeof peerState?.epoch === 'number' ? peerState.epoch : null;
    const epoch = own.mode?.mode === 'active' ? undefined : nextEpoch(ownEpoch, peerEpoch);

    const applied = await applyMode(
      ctx,
      facts,
      {
        mode: 'active',
        peer: peerName ?? undefined,
        replication: 'enabled',
        ca: ctx.params.ca === 'manage' ? 'enabled' : undefined,
        factsDir: ctx.params.facts_dir,
        task: 'promote',
        epoch,
      },
      ctx.noop,
    );
    const changes = [...applied.changes];

    // A forced promotion with a live, active peer: at least stop that peer's syncs from overwriting us.
    if (peerActive && peerName && !peerState?.killSwitch) {
      const peer = await ctx.peer(peerName);
      await peer.change(
        `mkdir -p ${shQuote(PEF_STATE_DIR)} && ${writeFileCommand(KILL_SWITCH_FILE, { mode: '644' })}`,
        {
          stdin: renderKillSwitch({
            reason: `${name} was promoted with force=true while this host was active; demote this host`,
            since: new Date().toISOString(),
            by: changedBy('promote'),
          }),
        },
      );
      changes.push(`replication switched off on ${peerName}`);
    }

    const wanted =
      ctx.params.services ??
      facts.services
        .filter(
          (s) =>
            s.present && s.name !== 'puppet' && (KNOWN_SERVICES[facts.flavor] as readonly string[]).includes(s.name),
        )
        .map((s) => s.name);
    const started: string[] = [];
    for (const service of startOrder(wanted)) {
      const status = await readServiceStatus(ctx, facts.serviceManager, service);
      if (status === 'running') continue;
      if (status === 'unknown') {
        throw new PefError(
          'pef/task-failed',
          `promote on ${name}: service ${service} does not exist here (its status is unknown). Changes made so far: ${changes.join(', ') || 'none'}. Fix the services parameter and run again.`,
          {
            host: name,
            service,
            done: changes,
          },
        );
      }
      try {
        await ctx.change(serviceCommand(facts.serviceManager, 'start', service));
      } catch (error) {
        throw new PefError(
          'pef/task-failed',
          `promote on ${name}: starting ${service} failed: ${(error as Error).message}\nState: mode active${changes.length ? `; done: ${changes.join(', ')}` : ''}${started.length ? `; started: ${started.join(', ')}` : ''}. ` +
            `Look at ${service}'s log, fix it, and run promote again (it continues where it stopped).`,
          { host: name, failed: service, done: changes, started },
        );
      }
      started.push(service);
    }
    if (started.length) changes.push(`started ${started.join(', ')}`);

    // Its own tools (`puppetserver ca`, its agent) follow it: settings that named the peer name it now.
    if (peerName !== null) {
      const self = checkCertname(facts.certname, { server: name, field: 'certname' });
      const conf = parsePuppetConf((await ctx.read(puppetConfReadCommand())).stdout);
      for (const { command, change } of repointCommands(conf.settings, peerName, self)) {
        await ctx.change(command);
        changes.push(change);
      }
    }

    const next = [
      `point agents at ${name} first: pef task run configure_agents -t agents server_list=${name}${peerName ? `,${peerName}` : ''}`,
      ...(peerName && check.reachable !== true
        ? [
            `when ${peerName} comes back, demote it before anything else: pef task run demote -t ${peerName} peer=${name}`,
          ]
        : []),
      ...(peerActive
        ? [`${peerName} still says active: demote it (pef task run demote -t ${peerName} peer=${name})`]
        : []),
    ];
    return {
      changed: changes.length > 0,
      value: {
        ...applied.value,
        updated: changes,
        started,
        peer_check: check,
        forced,
        next_steps: next,
      },
    };
  },
});
