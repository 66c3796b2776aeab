/**
 * set_mode: writes this server's failover mode (the /etc/pef/mode marker and the
 * `pef_failover_mode` external fact), and optionally switches the replication kill-switch and the
 * CA service, through `applyMode` (src/puppet/apply-mode.ts), the primitive promote and demote
 * share. Everything is read first and every refusal happens before the first change; a second
 * run with the same parameters changes nothing.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import { applyMode, factsDirParam } from '../src/puppet/apply-mode.js';
import { EPOCH_FILE, initialEpoch, MAX_EPOCH } from '../src/puppet/epoch.js';
import { FACTS_FILE_NAME, KILL_SWITCH_FILE, MODE_FILE, readReplicationState } from '../src/puppet/mode.js';
import { checkPeer } from '../src/puppet/peer-check.js';
import { defineTask } from '../src/task/task.js';

async function isTarget(ctx: { peer(name: string): Promise<unknown> }, name: string): Promise<boolean> {
  try {
    await ctx.peer(name);
    return true;
  } catch (error) {
    if (error instanceof PefError && error.kind === 'pef/unknown-target') return false;
    // Any other failure (the peer is down) is checkPeer's to report.
    return true;
  }
}

/** Sets the failover mode; see the file comment. */
export const setMode = defineTask({
  name: 'set_mode',
  description:
    "Set this server's failover mode (marker + pef_failover_mode fact), and optionally the replication kill-switch and the CA service",
  details: `Writes ${MODE_FILE} (mode, peer, changed_at, by) and ${FACTS_FILE_NAME} in facter's facts.d
(/opt/puppetlabs/facter/facts.d on AIO/PE, /etc/facter/facts.d on Debian), then checks with facter.
replication=disabled creates the kill-switch ${KILL_SWITCH_FILE} (no sync or restore touches this
host while it exists); replication=enabled removes it. ca=enabled|disabled edits services.d/ca.cfg
(open source only) and restarts a running puppetserver. promote and demote are built on this.
A server without an epoch file (${EPOCH_FILE}) starts at its peer's epoch (read over ssh), or 1; a
server set passive takes its peer's epoch when that is higher (a spare keeps level with the server it
follows, so a failover's promotion is ahead of it); otherwise only promote raises an epoch;
epoch=N repairs a damaged file.`,
  params: z.object({
    mode: z
      .enum(['active', 'passive'])
      .describe("active: agents' primary, signs certificates, sends data; passive: warm spare, receives data"),
    peer: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]*$/)
      .optional()
      .describe(
        'the other server (inventory name), recorded in the marker and the pef_failover_peer fact; "" clears it; default: keep',
      ),
    replication: z
      .enum(['enabled', 'disabled'])
      .optional()
      .describe('switch the replication kill-switch off (enabled) or on (disabled); default: leave it'),
    ca: z
      .enum(['enabled', 'disabled'])
      .optional()
      .describe('switch the CA service in services.d/ca.cfg (open source Puppet only); default: leave it'),
    epoch: z
      .number()
      .int()
      .min(0)
      .max(MAX_EPOCH)
      .optional()
      .describe(
        `set the promotion epoch (${EPOCH_FILE}) to this number, to repair a damaged file; default: keep it, or on a server without one start at the peer's (or 1)`,
      ),
    facts_dir: factsDirParam,
  }),
  supportsNoop: true,
  async run(ctx) {
    const facts = await discoverHost((c) => ctx.read(c));
    const { mode, peer, replication, ca, facts_dir: factsDir } = ctx.params;
    const own = await readReplicationState(ctx);
    let epoch = ctx.params.epoch;
    if (epoch === undefined && (own.epoch === null || mode === 'passive')) {
      // A server's first epoch is its peer's, so the pair starts level and the next promotion is
      // ahead of both. A spare keeps level with the server it follows: its own next promotion (a
      // failover, when that server cannot be asked) must still be ahead of it.
      const peerName = peer || own.mode?.peer || null;
      // A peer named outside the inventory cannot be asked: start at 1, as with one that does not answer.
      const known = peerName !== null && peerName !== ctx.target.name && (await isTarget(ctx, peerName));
      const { check } = await checkPeer(ctx, known ? peerName : null);
      const peerEpoch = typeof check.epoch === 'number' ? check.epoch : null;
      if (own.epoch === null) epoch = initialEpoch(peerEpoch);
      else if (typeof own.epoch === 'number' && peerEpoch !== null && peerEpoch > own.epoch) epoch = peerEpoch;
    }
    const applied = await applyMode(
      ctx,
      facts,
      { mode, peer, replication, ca, factsDir, task: 'set_mode', reason: 'switched off with set_mode', epoch },
      ctx.noop,
    );
    return { changed: applied.changes.length > 0, value: applied.value };
  },
});
