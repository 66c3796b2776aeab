/**
 * configure_agents: point agents at the primary first and the replica second, through Puppet's
 * `server_list` in puppet.conf [main] (where PE's agent profile puts it too, so `puppet ssl`,
 * `puppet facts upload` and the agent all see it). An [agent] server_list would override [main],
 * so a different one there is removed. An explicit ca_server or report_server makes Puppet send
 * those requests past the list (CA requests would still go to the dead primary after a failover):
 * reported as warnings, removed only when asked (remove_settings). A running agent daemon
 * re-reads puppet.conf before its next run; nothing is restarted. `first` instead of a whole
 * list is a failover's reorder: each agent keeps its own list with that server moved to the front,
 * so it works when the old primary (and its certname) can no longer be asked.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { parsePuppetConf, puppetConfReadCommand } from '../src/puppet/puppet-conf.js';
import {
  formatServerList,
  SERVER_ENTRY,
  serverHost,
  serverListParam,
  splitServerList,
} from '../src/puppet/server-list.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

const OVERRIDES = ['server', 'ca_server', 'report_server'] as const;

/** Sets server_list on agents; see the file comment. */
export const configureAgents = defineTask({
  name: 'configure_agents',
  description: 'Set server_list (primary, then replica) in puppet.conf [main] on agents',
  details: `Give server_list (the whole list) or first (this server moved to the front of each agent's
current list, added when absent). Idempotent: an agent whose [main] server_list already lists the same servers in the same order
is left alone. A different server_list in [agent] (it would win over [main]) is removed.
Explicit server, ca_server or report_server settings are reported; remove_settings deletes them
(ca_server/report_server set explicitly make Puppet bypass server_list for those requests).`,
  params: z.object({
    server_list: serverListParam(
      'servers in order, primary first (host[:port], array or comma string); or give first instead',
    ).optional(),
    first: z
      .string()
      .regex(SERVER_ENTRY)
      .optional()
      .describe(
        "move this server to the front of each agent's current server_list (added when absent), the others kept in their order: a failover's reorder",
      ),
    remove_settings: z
      .array(z.enum(OVERRIDES))
      .default([])
      .describe('explicit settings to delete from [main] and [agent]: server, ca_server, report_server'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const name = ctx.target.name;
    const { server_list: list, first } = ctx.params;
    if ((list === undefined) === (first === undefined))
      throw new PefError(
        'pef/param-error',
        'configure_agents takes either server_list or first, not both or neither.',
        {},
      );
    const read = await ctx.read(puppetConfReadCommand(), { okExitCodes: [0, 3] });
    if (read.exitCode === 3)
      throw new PefError(
        'pef/task-failed',
        `configure_agents on ${name}: \`puppet config print config\` failed: is Puppet installed there? Nothing was changed.`,
        {},
      );
    const { config, settings } = parsePuppetConf(read.stdout);
    const inSection = (section: string, key: string) => settings.find((s) => s.section === section && s.key === key);
    const wanted = formatServerList(list ?? reordered(first ?? '', settings));
    const same = (value: string | undefined) =>
      value !== undefined && formatServerList(splitServerList(value)) === wanted;
    const changes: string[] = [];
    const P = 'PATH=/opt/puppetlabs/bin:$PATH puppet config';

    if (!same(inSection('main', 'server_list')?.value)) {
      await ctx.change(`${P} set server_list ${shQuote(wanted)} --section main`);
      changes.push(`[main] server_list = ${wanted}`);
    }
    const agentList = inSection('agent', 'server_list');
    if (agentList && !same(agentList.value)) {
      await ctx.change(`${P} delete server_list --section agent`);
      changes.push(`removed [agent] server_list = ${agentList.value}`);
    }
    for (const key of ctx.params.remove_settings) {
      for (const section of ['main', 'agent']) {
        const found = inSection(section, key);
        if (!found) continue;
        await ctx.change(`${P} delete ${shQuote(key)} --section ${section}`);
        changes.push(`removed [${section}] ${key} = ${found.value}`);
      }
    }
    const warnings = settings
      .filter(
        (s) =>
          (s.key === 'ca_server' || s.key === 'report_server') &&
          ['main', 'agent'].includes(s.section) &&
          !ctx.params.remove_settings.includes(s.key as 'ca_server'),
      )
      .map(
        (s) =>
          `[${s.section}] ${s.key} = ${s.value} is set explicitly: Puppet sends ${s.key === 'ca_server' ? 'certificate' : 'report'} requests there, not along server_list (remove_settings=["${s.key}"] deletes it)`,
      );
    return { changed: changes.length > 0, value: { config, server_list: wanted, updated: changes, warnings } };
  },
});

// What the agent uses now ([agent] server_list wins over [main], then a plain server), with
// `first` moved to the front; an agent that names no server gets `first` alone.
function reordered(first: string, settings: readonly { section: string; key: string; value: string }[]): string[] {
  const get = (section: string, key: string) => settings.find((s) => s.section === section && s.key === key)?.value;
  const current = splitServerList(
    get('agent', 'server_list') ?? get('main', 'server_list') ?? get('agent', 'server') ?? get('main', 'server') ?? '',
  );
  return [first, ...current.filter((entry) => serverHost(entry) !== serverHost(first))];
}
