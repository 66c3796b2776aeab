/**
 * Reading certificates on hosts with openssl: issuer, subject alternative names and whether a
 * certificate carries Puppet's pp_cli_auth extension (the CA API's auth.conf requires it for
 * `puppetserver ca` on a CA host; lab-feasibility.md pitfall 4).
 */
import { shQuote } from '../util/shell-quote.js';

/** Puppet's pp_cli_auth extension OID. */
export const PP_CLI_AUTH_OID = '1.3.6.1.4.1.34380.1.3.39';

/** What pef needs to know about one certificate. */
export interface CertInfo {
  exists: boolean;
  issuer: string;
  subject: string;
  dnsNames: string[];
  cliAuth: boolean;
}

/** Prints the certificate's issuer, subject and full text (for SANs and extensions); nothing if missing. */
export function certInfoCommand(path: string): string {
  const p = shQuote(path);
  return `[ -f ${p} ] || exit 0; openssl x509 -in ${p} -noout -issuer -subject -nameopt RFC2253 && openssl x509 -in ${p} -noout -text`;
}

/** Reads certInfoCommand's output. */
export function parseCertInfo(output: string): CertInfo {
  if (output.trim() === '') return { exists: false, issuer: '', subject: '', dnsNames: [], cliAuth: false };
  const issuer = /^issuer=\s*(.*)$/m.exec(output)?.[1]?.trim() ?? '';
  const subject = /^subject=\s*(.*)$/m.exec(output)?.[1]?.trim() ?? '';
  const sanLine = /X509v3 Subject Alternative Name:[^\n]*\n\s*([^\n]*)/.exec(output)?.[1] ?? '';
  const dnsNames = [...sanLine.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1] ?? '').filter(Boolean);
  return { exists: true, issuer, subject, dnsNames, cliAuth: output.includes(PP_CLI_AUTH_OID) };
}
