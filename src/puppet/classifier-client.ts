/**
 * The PE classifier API over curl on the host, with the host's own certificate (no key leaves
 * it): command text, the reply parser, and `readClassifierGroups`/`requirePe`, the checks both
 * NC tasks make on a host.
 */
import { PefError } from '../errors/pef-error.js';
import type { HostFacts } from '../host/discover.js';
import type { CommandOutput } from '../transport/transport.js';
import { shQuote } from '../util/shell-quote.js';
import { parseGroups, type NodeGroup } from './node-classification.js';

export interface ClientTls {
  cert: string;
  key: string;
  cacert: string;
}

/** The client TLS files under a host's ssldir. */
export function clientTlsPaths(ssldir: string, certname: string): ClientTls {
  return {
    cert: `${ssldir}/certs/${certname}.pem`,
    key: `${ssldir}/private_keys/${certname}.pem`,
    cacert: `${ssldir}/certs/ca.pem`,
  };
}

/** The classifier API's base URL. */
export function classifierBase(host: string, port: number): string {
  return `https://${host}:${port}/classifier-api/v1`;
}

const STATUS_MARK = 'pef-http-status:';

// PE's own curl (OpenSSL, current) first; the system curl otherwise. Only paths reach the command line.
function curl(tls: ClientTls, args: readonly string[]): string {
  return [
    'PATH=/opt/puppetlabs/puppet/bin:$PATH curl -sS --connect-timeout 10 --max-time 300',
    `--cert ${shQuote(tls.cert)} --key ${shQuote(tls.key)} --cacert ${shQuote(tls.cacert)}`,
    ...args,
    `-w ${shQuote(`\\n${STATUS_MARK}%{http_code}\\n`)}`,
  ].join(' ');
}

/**
 * `GET <base>/groups` with the host's certificate. The HTTP status is printed after the body
 * (`parseHttpReply`) rather than turned into an exit code, so every status is reported with its
 * body, on any curl version (`--fail-with-body` needs 7.76).
 */
export function classifierGetCommand(tls: ClientTls, base: string): string {
  return curl(tls, ['-H', shQuote('Accept: application/json'), shQuote(`${base}/groups`)]);
}

/** `POST <base>/import-hierarchy` with the body on stdin. */
export function classifierImportCommand(tls: ClientTls, base: string): string {
  return curl(tls, [
    '-X POST -H',
    shQuote('Content-Type: application/json'),
    '--data-binary @-',
    shQuote(`${base}/import-hierarchy`),
  ]);
}

/** An HTTP reply as the curl commands print it. */
export interface HttpReply {
  /** 0 when curl got no HTTP answer. */
  status: number;
  body: string;
}

/** Reads a curl command's stdout; null when the status line is missing. */
export function parseHttpReply(stdout: string): HttpReply | null {
  const at = stdout.lastIndexOf(`\n${STATUS_MARK}`);
  if (at < 0) return null;
  const status = Number.parseInt(stdout.slice(at + STATUS_MARK.length + 1), 10);
  return Number.isNaN(status) ? null : { status, body: stdout.slice(0, at) };
}

/** The start of a reply body for an error message: one line, at most `max` characters. */
export function bodyExcerpt(body: string, max = 300): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(empty body)';
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** What a curl exit status means, for error messages (exit statuses from curl's manual). */
export function curlFailureHint(exitCode: number | null): string {
  switch (exitCode) {
    case 6:
      return 'the host name does not resolve';
    case 7:
      return 'nothing listens there: is pe-console-services running?';
    case 28:
      return 'it timed out';
    case 35:
      return 'the TLS handshake failed: the classifier refused the client certificate or the host is not a PE console';
    case 58:
      return "curl could not use the host's certificate or key";
    case 60:
      return "the server's certificate is not signed by the host's CA or does not name that host";
    case 77:
      return "curl could not read the host's CA bundle";
    case null:
      return 'curl was killed';
    default:
      return `curl exited with ${exitCode}`;
  }
}

/** Refuses a host that is not PE (open-source Puppet has no node classifier API) or has no certname. */
export function requirePe(facts: HostFacts, host: string, task: string, state: string): void {
  if (facts.flavor !== 'pe') {
    throw new PefError(
      'pef/task-failed',
      `${task} is for Puppet Enterprise, but ${host} is open-source Puppet (no /opt/puppetlabs/server/pe_version): it has no node classifier API. ${state}`,
      { flavor: facts.flavor },
    );
  }
  if (!facts.certname || !facts.paths.ssldir) {
    throw new PefError(
      'pef/task-failed',
      `${task}: \`puppet config print certname ssldir\` gave nothing on ${host}, so its client certificate cannot be found. Is the PE agent installed? ${state}`,
      {},
    );
  }
}

/** The reading side of a host, as tasks have it (`ctx` or a peer). */
export interface ClassifierClientHost {
  readonly target: { readonly name: string };
  read(command: string, options?: { okExitCodes?: readonly number[] }): Promise<CommandOutput>;
}

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/**
 * `GET <base>/groups` from `host` with its certificate, validated; throws `pef/task-failed`
 * naming the URL, the status or curl's failure, and `state` (what the task left).
 */
export async function readClassifierGroups(
  host: ClassifierClientHost,
  tls: ClientTls,
  base: string,
  state: string,
): Promise<NodeGroup[]> {
  const name = host.target.name;
  const url = `${base}/groups`;
  const out = await host.read(classifierGetCommand(tls, base), { okExitCodes: ANY_EXIT });
  const reply = parseHttpReply(out.stdout);
  if (out.exitCode !== 0 || reply === null || reply.status === 0) {
    const detail = out.stderr.trim().split('\n').pop() ?? '';
    throw new PefError(
      'pef/task-failed',
      `GET ${url} on ${name} failed: ${curlFailureHint(out.exitCode)}${detail ? ` (${detail})` : ''}. ${state}`,
      { url, exitCode: out.exitCode },
    );
  }
  if (reply.status !== 200) {
    const hint =
      reply.status === 403
        ? ` Put ${name}'s certname on the classifier's certificate allow-list (PE: /etc/puppetlabs/console-services/rbac-certificate-allowlist).`
        : '';
    throw new PefError(
      'pef/task-failed',
      `GET ${url} on ${name} answered HTTP ${reply.status}: ${bodyExcerpt(reply.body)}.${hint} ${state}`,
      { url, status: reply.status },
    );
  }
  const parsed = parseGroups(reply.body);
  if (!parsed.ok)
    throw new PefError(
      'pef/task-failed',
      `GET ${url} on ${name} did not return node groups: ${parsed.problem}. ${state}`,
      { url },
    );
  return parsed.groups;
}
