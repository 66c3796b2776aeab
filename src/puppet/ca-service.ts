/**
 * Switching Puppet Server's CA service on and off (open source Puppet): `services.d/ca.cfg` loads
 * either the real certificate-authority-service or the certificate-authority-disabled-service (a
 * no-op stand-in; `/puppet-ca/v1` is then not served). Only the active server signs; a passive
 * one must not, or two CAs would hand out serial numbers independently. Trapperkeeper reads the
 * service list at boot only, so a running server needs a restart to apply a change.
 * On PE the CA service is set by classification (the console's PE Certificate Authority group),
 * and any edit here would be reverted by the next agent run: pef never edits it there.
 */
import { PefError } from '../errors/pef-error.js';
import { shQuote } from '../util/shell-quote.js';

/** The line that loads the real CA service. */
export const CA_SERVICE_LINE = 'puppetlabs.services.ca.certificate-authority-service/certificate-authority-service';

/** The line that loads the no-op stand-in. */
export const CA_DISABLED_SERVICE_LINE =
  'puppetlabs.services.ca.certificate-authority-disabled-service/certificate-authority-disabled-service';

/** What a ca.cfg says; `broken` when both or neither service line is active. */
export type CaServiceState = 'enabled' | 'disabled' | 'broken';

function lineRe(service: string): { on: RegExp; off: RegExp } {
  const escaped = service.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return {
    on: new RegExp(`^[ \\t]*${escaped}[ \\t]*$`, 'm'),
    off: new RegExp(`^[ \\t]*#+[ \\t]*${escaped}[ \\t]*$`, 'm'),
  };
}

/** Reads the state of a ca.cfg text. */
export function caServiceState(text: string): CaServiceState {
  const ca = lineRe(CA_SERVICE_LINE).on.test(text);
  const disabled = lineRe(CA_DISABLED_SERVICE_LINE).on.test(text);
  if (ca && !disabled) return 'enabled';
  if (disabled && !ca) return 'disabled';
  return 'broken';
}

/**
 * ca.cfg text with the CA service `enabled` or not: the wanted line uncommented (added if
 * missing), the other commented out; everything else is kept as it was.
 */
export function setCaService(text: string, enabled: boolean): string {
  const [want, other] = enabled
    ? [CA_SERVICE_LINE, CA_DISABLED_SERVICE_LINE]
    : [CA_DISABLED_SERVICE_LINE, CA_SERVICE_LINE];
  let out = text;
  const w = lineRe(want);
  const o = lineRe(other);
  // Global variants, so duplicates are handled too.
  out = out.replace(new RegExp(o.on.source, 'gm'), `#${other}`);
  if (w.on.test(out)) return out;
  if (w.off.test(out)) return out.replace(w.off, want);
  return `${out}${out === '' || out.endsWith('\n') ? '' : '\n'}${want}\n`;
}

/** Where ca.cfg may be, from Puppet's confdir: Debian /etc/puppet/puppetserver, AIO /etc/puppetlabs/puppetserver. */
export function caCfgCandidates(confdir: string): string[] {
  const candidates = [
    `${confdir}/puppetserver/services.d/ca.cfg`,
    `${confdir.replace(/\/puppet\/?$/, '')}/puppetserver/services.d/ca.cfg`,
  ];
  return [...new Set(candidates)];
}

/** Prints the first existing candidate, or nothing. */
export function findCaCfgCommand(confdir: string): string {
  return `for f in ${caCfgCandidates(confdir).map(shQuote).join(' ')}; do [ -f "$f" ] && { echo "$f"; break; }; done; true`;
}

/** The error for a ca.cfg that cannot be found. */
export function caCfgMissing(host: string, confdir: string): PefError {
  return new PefError(
    'pef/task-failed',
    `No puppetserver services.d/ca.cfg on ${host} (looked at ${caCfgCandidates(confdir).join(', ')}). Is puppetserver installed there? Nothing was changed.`,
    { host, candidates: caCfgCandidates(confdir) },
  );
}
