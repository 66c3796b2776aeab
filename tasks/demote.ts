/**
 * demote: make this server the passive one. Sets mode passive (marker + fact), disables the CA
 * service (restarting a running puppetserver so it stops signing; it keeps compiling catalogs as
 * a warm spare), and switches its replication off with the kill-switch, so an old primary that
 * comes back cannot push its stale data over the promoted server. The kill-switch stays until the
 * operator clears it (`set_mode mode=passive replication=enabled`), e.g. to let this host receive
 * from the new active server for a failback. Its own tools follow the active server: puppet.conf's
 * server, ca_server and report_server settings that named this server name the peer (when it
 * answers) afterwards, as promote does the other way round. Never refused because of the peer:
 * demoting is the safe direction; the peer's state is only reported.
 */
import { z } from 'zod';
import { discoverHost } from '../src/host/discover.js';
import { applyMode, factsDirParam } from '../src/puppet/apply-mode.js';
import { readReplicationState } from '../src/puppet/mode.js';
import { checkCertname } from '../src/puppet/names.js';
import { checkPeer } from '../src/puppet/peer-check.js';
import { parsePuppetConf, puppetConfReadCommand, repointCommands } from '../src/puppet/puppet-conf.js';
import { defineTask } from '../src/task/task.js';

/** Demotes this server to passive; see the file comment. */
export const demote = defineTask({
  name: 'demote',
  description: 'Make this server passive: mode passive, CA service off, replication kill-switch on',
  details: `Run on the server that must stop acting as primary (e.g. the old primary when it comes back).
The replication kill-switch stays on until \`pef task run set_mode mode=passive replication=enabled\`.
A running puppetserver is restarted when its CA service changes. The peer (if reachable) is only reported,
and its certname replaces this server's own in puppet.conf's server, ca_server and report_server
settings (so this host's agent and \`puppetserver ca\` reach the active server).`,
  params: z.object({
    peer: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]+$/)
      .optional()
      .describe("the other (now active) server, inventory name; default: the peer recorded in this host's mode file"),
    ca: z
      .enum(['manage', 'leave'])
      .default('manage')
      .describe('manage: disable the CA service (open source); leave: do not touch it (PE, external CA)'),
    reason: z.string().min(1).max(300).optional().describe('why, written into the kill-switch file'),
    facts_dir: factsDirParam,
  }),
  supportsNoop: true,
  async run(ctx) {
    const facts = await discoverHost((c) => ctx.read(c));
    const own = await readReplicationState(ctx);
    const peerName = ctx.params.peer ?? own.mode?.peer ?? null;
    const { check } = await checkPeer(ctx, peerName === ctx.target.name ? null : peerName);
    const applied = await applyMode(
      ctx,
      facts,
      {
        mode: 'passive',
        peer: peerName ?? undefined,
        replication: 'disabled',
        ca: ctx.params.ca === 'manage' ? 'disabled' : undefined,
        reason: ctx.params.reason ?? `demoted${peerName ? `; ${peerName} is the active server` : ''}`,
        factsDir: ctx.params.facts_dir,
        task: 'demote',
      },
      ctx.noop,
    );
    const changes = [...applied.changes];

    // Its own tools follow the active server: settings that named this server name the peer now.
    // The peer's certname comes from the peer itself (checked like any value from the other side).
    if (peerName !== null && check.reachable === true) {
      const self = checkCertname(facts.certname, { server: ctx.target.name, field: 'certname' });
      const peer = await ctx.peer(peerName);
      const peerFacts = await discoverHost((c) => peer.read(c));
      const active = checkCertname(peerFacts.certname, { server: peerName, field: 'certname' });
      const conf = parsePuppetConf((await ctx.read(puppetConfReadCommand())).stdout);
      for (const { command, change } of repointCommands(conf.settings, self, active)) {
        await ctx.change(command);
        changes.push(change);
      }
    }

    const warnings =
      check.reachable === true && check.mode !== 'active'
        ? [
            `${peerName} is not active either: no server is active now; promote one (pef task run promote -t ${peerName})`,
          ]
        : [];
    return {
      changed: changes.length > 0,
      value: {
        ...applied.value,
        updated: changes,
        peer_check: check,
        warnings,
        next_steps: [
          `when ${peerName ?? 'the active server'} is confirmed and this host should receive from it: pef task run set_mode -t ${ctx.target.name} mode=passive replication=enabled`,
          ...(peerName !== null && check.reachable !== true
            ? [
                `${peerName} did not answer: point this host's own server, ca_server and report_server settings (puppet.conf) at the active server once it does (run demote again)`,
              ]
            : []),
        ],
      },
    };
  },
});
