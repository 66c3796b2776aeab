/**
 * set_mode: writes this server's failover mode (the /etc/pef/mode marker and the
 * `pef_failover_mode` external fact), and optionally switches the replication kill-switch and the
 * CA service, through `applyMode` (src/puppet/apply-mode.ts), the primitive promote and demote
 * share. Everything is read first and every refusal happens before the first change; a second
 * run with the same parameters changes nothing.
 */
import { z } from 'zod';
import { discoverHost } from '../src/host/discover.js';
import { applyMode, factsDirParam } from '../src/puppet/apply-mode.js';
import { FACTS_FILE_NAME, KILL_SWITCH_FILE, MODE_FILE } from '../src/puppet/mode.js';
import { defineTask } from '../src/task/task.js';

/** Sets the failover mode; see the file comment. */
export const setMode = defineTask({
  name: 'set_mode',
  description:
    "Set this server's failover mode (marker + pef_failover_mode fact), and optionally the replication kill-switch and the CA service",
  details: `Writes ${MODE_FILE} (mode, peer, changed_at, by) and ${FACTS_FILE_NAME} in facter's facts.d
(/opt/puppetlabs/facter/facts.d on AIO/PE, /etc/facter/facts.d on Debian), then checks with facter.
replication=disabled creates the kill-switch ${KILL_SWITCH_FILE} (no sync or restore touches this
host while it exists); replication=enabled removes it. ca=enabled|disabled edits services.d/ca.cfg
(open source only) and restarts a running puppetserver. promote and demote are built on this.`,
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
    facts_dir: factsDirParam,
  }),
  supportsNoop: true,
  async run(ctx) {
    const facts = await discoverHost((c) => ctx.read(c));
    const { mode, peer, replication, ca, facts_dir: factsDir } = ctx.params;
    const applied = await applyMode(
      ctx,
      facts,
      { mode, peer, replication, ca, factsDir, task: 'set_mode', reason: 'switched off with set_mode' },
      ctx.noop,
    );
    return { changed: applied.changes.length > 0, value: applied.value };
  },
});
