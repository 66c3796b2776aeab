/**
 * puppetdb.conf, the PuppetDB terminus's settings in Puppet Server's confdir, as pef sets it for
 * a warm spare on open-source Puppet.
 *
 * Why these settings (read from the installed terminus, puppet/util/puppetdb/{config,http}.rb):
 * - `server_urls = <own>,<peer>` with `command_broadcast = true`: every command (facts, catalog,
 *   report) is posted to each URL in turn; `min_successful_submissions = 1` makes a submission
 *   succeed when any one PuppetDB took it, so an agent run does not fail while the peer is down.
 * - Not `submit_only_server_urls` for the peer: the terminus drops a submit-only URL from its list
 *   after two timeouts in a row until Puppet Server restarts, so a replica that was powered off
 *   for a while would silently stop receiving commands for good; and a submit-only URL is never
 *   read from. In `server_urls` the peer is retried on every command and also serves queries
 *   (exported resources, `puppetdb_query`) when the own PuppetDB does not answer.
 * - `sticky_read_failover = false`: queries go to the own PuppetDB first every time. Sticky
 *   failover would keep reading from the peer after one failure until the peer fails too, i.e.
 *   from a PuppetDB that may lag, long after the own one is back.
 * - The own URL first: queries prefer it, and it is the one the server stands behind.
 * `soft_write_failure` is left as the operator set it (the terminus refuses it with
 * min_successful_submissions > 1, which pef never sets).
 */
import { iniGet, iniSet } from './ini-file.js';

/** PuppetDB's TLS port, as the terminus's default URL has it. */
export const PUPPETDB_PORT = 8081;

/** The https URL of a PuppetDB on `host`. */
export function puppetdbUrl(host: string, port: number = PUPPETDB_PORT): string {
  return `https://${host}:${port}`;
}

/** The URLs in a comma-separated terminus setting, trimmed, without a trailing slash. */
export function splitUrls(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter(Boolean);
}

/** puppetdb.conf's [main] server_urls as a list (the terminus's default when unset). */
export function serverUrls(text: string): string[] {
  const urls = splitUrls(iniGet(text, 'main', 'server_urls'));
  return urls.length > 0 ? urls : ['https://puppetdb:8081'];
}

/**
 * What `status` reads from puppetdb.conf: [main]'s server_urls (as written, no default) and
 * command_broadcast. An inline `#`/`;` comment after a value is not part of it.
 */
export function puppetdbBroadcast(text: string): { serverUrls: string[]; commandBroadcast: boolean } {
  const main = (key: string) =>
    iniGet(text, 'main', key)
      ?.replace(/[#;].*$/, '')
      .trim();
  return { serverUrls: splitUrls(main('server_urls')), commandBroadcast: main('command_broadcast') === 'true' };
}

/**
 * puppetdb.conf broadcasting every command to `own` and `peer` (see the file comment). A peer URL
 * in submit_only_server_urls is taken out (the terminus refuses a URL in both lists).
 */
export function broadcastPuppetdbConf(text: string, own: string, peer: string): string {
  const submitOnly = splitUrls(iniGet(text, 'main', 'submit_only_server_urls')).filter((u) => u !== own && u !== peer);
  // No blanks around the commas: the terminus's line pattern reads a value up to whitespace.
  return iniSet(text, 'main', {
    server_urls: [own, peer].join(','),
    command_broadcast: 'true',
    min_successful_submissions: '1',
    sticky_read_failover: 'false',
    submit_only_server_urls: submitOnly.length > 0 ? submitOnly.join(',') : null,
  });
}

/**
 * puppetdb.conf whose first server URL is `own` (a replica's terminus pointing at its own
 * PuppetDB). URLs after it are kept (configure_puppetdb_broadcast adds the primary there), so the
 * two tasks never undo each other; a file already starting with `own` is returned unchanged.
 */
export function ownFirstPuppetdbConf(text: string, own: string): string {
  const current = splitUrls(iniGet(text, 'main', 'server_urls'));
  if (current[0] === own) return text;
  const rest = current.filter((u) => u !== own && u !== 'https://puppetdb:8081');
  const broadcast = iniGet(text, 'main', 'command_broadcast') === 'true';
  return iniSet(text, 'main', { server_urls: [own, ...(broadcast ? rest : [])].join(',') });
}
