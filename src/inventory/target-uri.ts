/**
 * Target URIs as Bolt writes them: `[scheme://][user@]host[:port]`. Bolt's other transports
 * (`winrm://` …) parse, so mixed Bolt inventories load; such targets fail only when resolved.
 */

/** The parts of a target uri. */
export interface TargetUri {
  /** Lowercased: `ssh`, `local`, or one of Bolt's transports pef does not speak. */
  scheme?: string;
  user?: string;
  /** Host name or address; IPv6 without the brackets. */
  host: string;
  port?: number;
}

/** A parsed uri, or what is wrong with it. */
export type ParsedTargetUri = { ok: true; uri: TargetUri } | { ok: false; problem: string };

/** Bolt transports pef does not speak. */
export const BOLT_ONLY_TRANSPORTS: readonly string[] = ['winrm', 'pcp', 'docker', 'podman', 'remote', 'lxd', 'jail'];
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;
const PORT = /^[0-9]+$/;

/** Splits a Bolt target uri; see the file comment. */
export function parseTargetUri(text: string): ParsedTargetUri {
  const fail = (problem: string): ParsedTargetUri => ({ ok: false, problem });
  if (text.length === 0) return fail('the uri is empty');
  if (/[\s,]/.test(text)) return fail(`"${text}" contains a space or comma; expected [ssh://][user@]host[:port]`);

  let rest = text;
  let scheme: string | undefined;
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (schemeMatch) {
    const name = schemeMatch[1]!.toLowerCase();
    if (name === 'ssh' || name === 'local' || BOLT_ONLY_TRANSPORTS.includes(name)) scheme = name;
    else return fail(`unknown scheme "${name}://" in "${text}"; expected ssh:// or local://`);
    rest = rest.slice(schemeMatch[0].length);
  }
  if (rest.includes('/')) return fail(`"${text}" has a path; expected [ssh://][user@]host[:port]`);

  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userInfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (userInfo.includes(':')) {
      return fail(
        'a password in the uri would show up in target names and logs; put it in config.ssh.password (an env_var plugin keeps it out of the file)',
      );
    }
    if (userInfo.length === 0) return fail(`"${text}" has an empty user before "@"`);
    try {
      user = decodeURIComponent(userInfo);
    } catch {
      return fail(`"${text}" has a badly encoded user "${userInfo}"`);
    }
  }

  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return fail(`"${text}" opens "[" for an IPv6 address but never closes it`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':'))
      return fail(`unexpected "${after}" after the IPv6 address in "${text}"`);
    if (after !== '') portText = after.slice(1);
    if (!IPV6.test(host)) return fail(`"${host}" is not an IPv6 address`);
  } else {
    const parts = rest.split(':');
    if (parts.length > 2)
      return fail(`"${text}" has more than one ":"; write an IPv6 address in brackets, e.g. [::1]:22`);
    host = parts[0]!;
    portText = parts[1];
    if (host.length === 0) return fail(`"${text}" has no host`);
    if (!HOST_NAME.test(host)) return fail(`"${host}" is not a valid host name (letters, digits, ".", "-" and "_")`);
  }

  let port: number | undefined;
  if (portText !== undefined) {
    const n = PORT.test(portText) ? Number(portText) : NaN;
    if (!(n >= 1 && n <= 65535)) return fail(`port "${portText}" in "${text}" is not a number from 1 to 65535`);
    port = n;
  }

  const uri: TargetUri = { host };
  if (scheme !== undefined) uri.scheme = scheme;
  if (user !== undefined) uri.user = user;
  if (port !== undefined) uri.port = port;
  return { ok: true, uri };
}
