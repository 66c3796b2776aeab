/**
 * What a lab looks like: its hosts, their names and addresses, and where its state lives.
 * Pure data and path arithmetic, no side effects, so every other lab module (and tests) can
 * agree on names without starting anything.
 */
import { resolve, join } from 'node:path';

/** Lab profiles: `oss` is real Debian packages; `pe` is the same Puppet laid out as PE, plus labelled stand-ins. */
export type LabProfile = 'oss' | 'pe';

/** The role a lab host plays; also its `vars.role` in the inventory. */
export type LabRole = 'primary' | 'replica' | 'agent';

/** Services the lab's service shim knows: Debian's names (`oss`) and PE's (`pe`). */
export type LabService =
  | 'sshd'
  | 'postgresql'
  | 'puppetdb'
  | 'puppetserver'
  | 'puppet'
  | 'pe-postgresql'
  | 'pe-puppetdb'
  | 'pe-puppetserver'
  | 'pe-console-services'
  | 'pef-replication';

/** A profile's services, in start order (stop in reverse). */
export const LAB_SERVICES: Readonly<Record<LabProfile, readonly LabService[]>> = {
  // pef-replication runs the host-side replication jobs install_replication registers (last: they use the others).
  oss: ['sshd', 'postgresql', 'puppetdb', 'puppetserver', 'puppet', 'pef-replication'],
  // pe-console-services is the classifier stand-in (docs/lab.md, "PE stand-ins").
  pe: ['sshd', 'pe-postgresql', 'pe-puppetdb', 'pe-puppetserver', 'pe-console-services', 'puppet', 'pef-replication'],
};

/** One lab host. */
export interface LabHost {
  /** Short name: `primary`, `replica`, `agent1` … */
  readonly name: string;
  /** `<name>.lab`; also the Puppet certname and the hostname inside the host. */
  readonly fqdn: string;
  readonly role: LabRole;
  /** Loopback address every daemon of this host binds to. */
  readonly address: string;
  /** Services that run on this host once `lab up` has finished (the rest stay stopped). */
  readonly services: readonly LabService[];
}

/** The domain of every lab host. */
export const LAB_DOMAIN = 'lab';

/** Default first three octets of the lab network (127.0.10.0/24). */
export const DEFAULT_ADDRESS_PREFIX = '127.0.10';

/** Default state directory, relative to the current directory. */
export const DEFAULT_LAB_DIR = '.pef-lab';

/** The most agents a /24 can hold after primary (.1) and replica (.2). */
export const MAX_AGENTS = 250;

/** Paths each host gets as a copy-on-write overlay of the machine's own directory. */
export const OVERLAY_DIRS: readonly string[] = ['/etc', '/var', '/usr/local', '/opt', '/srv'];

/** Lab hosts for a profile and agent count, primary first. */
export function labHosts(
  agents: number,
  addressPrefix: string = DEFAULT_ADDRESS_PREFIX,
  profile: LabProfile = 'oss',
): LabHost[] {
  const host = (name: string, role: LabRole, last: number, services: LabService[]): LabHost => ({
    name,
    fqdn: `${name}.${LAB_DOMAIN}`,
    role,
    address: `${addressPrefix}.${last}`,
    services,
  });
  const hosts =
    profile === 'pe'
      ? [
          host('primary', 'primary', 1, [
            'sshd',
            'pe-postgresql',
            'pe-puppetdb',
            'pe-puppetserver',
            'pe-console-services',
          ]),
          // pe_failover's passive primary: PE installed, its database and console up, its JVMs stopped.
          host('replica', 'replica', 2, ['sshd', 'pe-postgresql', 'pe-console-services']),
        ]
      : [
          host('primary', 'primary', 1, ['sshd', 'postgresql', 'puppetdb', 'puppetserver']),
          // The replica is where the warm-spare setup starts: an agent with packages, no server running.
          host('replica', 'replica', 2, ['sshd']),
        ];
  for (let n = 1; n <= agents; n++) hosts.push(host(`agent${n}`, 'agent', 2 + n, ['sshd']));
  return hosts;
}

/** Absolute paths inside a lab's state directory. */
export interface LabPaths {
  readonly dir: string;
  readonly state: string;
  readonly lock: string;
  readonly inventory: string;
  readonly keysDir: string;
  readonly privateKey: string;
  readonly knownHosts: string;
  hostDir(host: string): string;
  holderLog(host: string): string;
  /** Mounted at /var/lib/pef-lab-shared in every host: state all hosts share (the PE stand-ins' infrastructure). */
  readonly sharedDir: string;
}

/** The layout of a state directory (default `.pef-lab` in the current directory). */
export function labPaths(dir: string = DEFAULT_LAB_DIR): LabPaths {
  const root = resolve(dir);
  return {
    dir: root,
    state: join(root, 'state.json'),
    lock: join(root, 'up.lock'),
    inventory: join(root, 'inventory.yaml'),
    keysDir: join(root, 'keys'),
    privateKey: join(root, 'keys', 'id_lab'),
    knownHosts: join(root, 'keys', 'known_hosts'),
    hostDir: (host) => join(root, 'hosts', host),
    holderLog: (host) => join(root, 'hosts', host, 'holder.log'),
    sharedDir: join(root, 'shared'),
  };
}
