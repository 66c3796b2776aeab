/**
 * A resolved target: what the rest of pef knows about one host after the inventory's groups,
 * config, vars and facts have been merged (Bolt inventory v2 rules) and plugins resolved.
 */
import type { Sensitive } from '../util/sensitive.js';

/** Roles a target can play, from `vars.role`: the one list every layer derives from. */
export const ROLES = ['primary', 'replica', 'agent', 'compiler'] as const;

/** One of ROLES. */
export type Role = (typeof ROLES)[number];

/** True when `value` names a role. */
export function isRole(value: unknown): value is Role {
  return (ROLES as readonly unknown[]).includes(value);
}

/** The roles as prose for messages: "primary, replica, agent or compiler". */
export function rolesInWords(): string {
  return `${ROLES.slice(0, -1).join(', ')} or ${ROLES[ROLES.length - 1]}`;
}

/** Transports pef speaks. */
export type TransportName = 'ssh' | 'local';

/** SSH settings, Bolt's `config.ssh` keys in camelCase, with defaults applied. */
export interface SshConfig {
  /** Address to connect to (from the uri or `config.ssh.host`, else the target name). */
  host: string;
  port: number;
  user: string;
  /** Path to a private key file, or the key itself (`key-data`). */
  privateKey?: { path: string } | { data: Sensitive };
  password?: Sensitive;
  /** Verify the host key against known_hosts (default true). */
  hostKeyCheck: boolean;
  /** known_hosts file to check against (default ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** Seconds to wait for the connection and authentication (Bolt default 10). */
  connectTimeout: number;
  /** Run commands as this user through sudo. */
  runAs?: string;
  sudoPassword?: Sensitive;
}

/** Settings that apply to any transport. */
export interface TargetConfig {
  transport: TransportName;
  ssh: SshConfig;
}

/** One host, as every layer above the inventory sees it. */
export interface Target {
  /** The name used in results and on the command line. */
  readonly name: string;
  readonly uri?: string;
  readonly aliases: readonly string[];
  /** Groups the target belongs to, outermost first (`all` is implicit and not listed). */
  readonly groups: readonly string[];
  readonly config: TargetConfig;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly facts: Readonly<Record<string, unknown>>;
  /** Bolt features (e.g. `puppet-agent`) from the inventory; absent on targets built by hand. */
  readonly features?: readonly string[];
}

/** The target's role from `vars.role`, if it names one. */
export function roleOf(target: Target): Role | undefined {
  const role = target.vars['role'];
  return isRole(role) ? role : undefined;
}
