/**
 * Turns one target's merged, plugin-resolved inventory data into the Target every other layer
 * uses: defaults applied (Bolt's where pef has them), paths made absolute, secrets wrapped.
 * The data has passed the schema already, so the reads below only pick types, never check them.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { Sensitive } from '../util/sensitive.js';
import type { SshConfig, Target, TransportName } from './target.js';
import { parseTargetUri } from './target-uri.js';

/** Merged and resolved data of one target. */
export interface TargetData {
  name: string;
  uri?: string;
  aliases: readonly string[];
  groups: readonly string[];
  config: Readonly<Record<string, unknown>>;
  vars: Readonly<Record<string, unknown>>;
  facts: Readonly<Record<string, unknown>>;
  features: readonly string[];
}

/** What defaults depend on: the inventory's directory, the home directory, the current user. */
export interface TargetDefaults {
  dir: string;
  home: string;
  user: string;
}

/** Default SSH port, connect timeout (seconds, Bolt's) and known_hosts path (under home). */
export const SSH_DEFAULTS = { port: 22, connectTimeout: 10, knownHosts: '~/.ssh/known_hosts' } as const;

/** The transport a target uses: the uri scheme, else config.transport, else local for localhost, else ssh. May be a Bolt-only one. */
export function transportOf(data: Pick<TargetData, 'name' | 'uri' | 'config'>): string {
  const uri = data.uri === undefined ? undefined : parseTargetUri(data.uri);
  const configured = data.config['transport'];
  return (
    (uri?.ok ? uri.uri.scheme : undefined) ??
    (typeof configured === 'string' ? configured : undefined) ??
    (data.name === 'localhost' ? 'local' : 'ssh')
  );
}

/** Builds the Target; see the file comment. The transport must be ssh or local (check transportOf first). */
export function buildTarget(data: TargetData, defaults: TargetDefaults): Target {
  const uri = data.uri === undefined ? undefined : parseTargetUri(data.uri);
  const parts = uri?.ok ? uri.uri : undefined;
  const ssh = (data.config['ssh'] ?? {}) as Record<string, unknown>;
  const str = (key: string): string | undefined => (typeof ssh[key] === 'string' ? ssh[key] : undefined);
  const num = (key: string): number | undefined => (typeof ssh[key] === 'number' ? ssh[key] : undefined);
  const path = (p: string): string => expandPath(p, defaults);

  const transport = transportOf(data) as TransportName;

  const sshConfig: SshConfig = {
    host: parts?.host ?? str('host') ?? data.name,
    port: parts?.port ?? num('port') ?? SSH_DEFAULTS.port,
    user: parts?.user ?? str('user') ?? defaults.user,
    hostKeyCheck: typeof ssh['host-key-check'] === 'boolean' ? ssh['host-key-check'] : true,
    knownHosts: path(str('known-hosts') ?? SSH_DEFAULTS.knownHosts),
    connectTimeout: num('connect-timeout') ?? SSH_DEFAULTS.connectTimeout,
  };
  const key = ssh['private-key'];
  if (typeof key === 'string') sshConfig.privateKey = { path: path(key) };
  else if (
    typeof key === 'object' &&
    key !== null &&
    typeof (key as Record<string, unknown>)['key-data'] === 'string'
  ) {
    sshConfig.privateKey = { data: new Sensitive((key as Record<string, string>)['key-data']!) };
  }
  const password = str('password');
  if (password !== undefined) sshConfig.password = new Sensitive(password);
  const runAs = str('run-as');
  if (runAs !== undefined) sshConfig.runAs = runAs;
  const sudoPassword = str('sudo-password');
  if (sudoPassword !== undefined) sshConfig.sudoPassword = new Sensitive(sudoPassword);

  const target: Target = {
    name: data.name,
    ...(data.uri === undefined ? {} : { uri: data.uri }),
    aliases: Object.freeze([...data.aliases]),
    groups: Object.freeze([...data.groups]),
    config: Object.freeze({ transport, ssh: Object.freeze(sshConfig) }),
    vars: Object.freeze({ ...data.vars }),
    facts: Object.freeze({ ...data.facts }),
    features: Object.freeze([...data.features]),
  };
  return Object.freeze(target);
}

/** `~` is the home directory; a relative path is relative to the inventory file's directory. */
export function expandPath(p: string, defaults: Pick<TargetDefaults, 'dir' | 'home'>): string {
  if (p === '~') return defaults.home;
  if (p.startsWith('~/')) return join(defaults.home, p.slice(2));
  return isAbsolute(p) ? p : resolve(defaults.dir, p);
}
