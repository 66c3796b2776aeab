/**
 * Reading an agent's puppet.conf through Puppet itself: where the file is (`puppet config print
 * config`) and the server settings in it per section, as configure_agents needs them; and
 * pointing a promoted server's own settings at itself.
 */
import { shQuote } from '../util/shell-quote.js';

/** Prints `section key = value` for server_list and the settings that bypass it, from puppet.conf. */
export function puppetConfReadCommand(): string {
  return (
    'PATH=/opt/puppetlabs/bin:$PATH; conf=$(puppet config print config 2>/dev/null) || exit 3; echo "config=$conf"; ' +
    `[ -f "$conf" ] && awk '/^[ \\t]*\\[/ {gsub(/[][ \\t]/,""); s=$0; next} /^[ \\t]*(server_list|server|ca_server|report_server)[ \\t]*=/ {k=$0; sub(/[ \\t]*=.*/,"",k); gsub(/[ \\t]/,"",k); v=$0; sub(/^[^=]*=[ \\t]*/,"",v); print "set " (s==""?"main":s) " " k " = " v}' "$conf"; true`
  );
}

/** One setting found in puppet.conf. */
export interface ConfSetting {
  section: string;
  key: string;
  value: string;
}

/** Reads `puppetConfReadCommand` output. */
export function parsePuppetConf(stdout: string): { config: string; settings: ConfSetting[] } {
  let config = '';
  const settings: ConfSetting[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('config=')) config = line.slice(7).trim();
    const m = /^set (\S+) (\S+) = (.*)$/.exec(line);
    if (m?.[1] && m[2] && m[3] !== undefined) settings.push({ section: m[1], key: m[2], value: m[3].trim() });
  }
  return { config, settings };
}

/** The settings that send a host's own Puppet tools (its agent, `puppetserver ca`) to one server. */
const OWN_SERVER_KEYS = ['server', 'ca_server', 'report_server'];

/**
 * After a promotion or a demotion, a server's own tools must reach the active server: the commands
 * that set each of its `server`, `ca_server` and `report_server` settings that name `from`
 * (exactly: a DNS alias or load-balancer name is left alone) to `to`, one `puppet config set` per
 * setting, with a line for the task's report. promote: from the peer to itself; demote: from
 * itself to the peer.
 */
export function repointCommands(
  settings: readonly ConfSetting[],
  from: string,
  to: string,
): { command: string; change: string }[] {
  return settings
    .filter((s) => OWN_SERVER_KEYS.includes(s.key) && s.value === from)
    .map((s) => ({
      command: `PATH=/opt/puppetlabs/bin:$PATH; puppet config set ${s.key} ${shQuote(to)} --section ${shQuote(s.section)}`,
      change: `[${s.section}] ${s.key} = ${to} (was ${from})`,
    }));
}
