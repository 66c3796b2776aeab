/**
 * The Bolt-v2 inventory `lab up` writes to `<state dir>/inventory.yaml`: one target per lab host
 * (name = certname, alias = short name, uri = its loopback address, `vars.role`), ssh as root
 * with the lab's key, and host keys checked against the lab's own known_hosts (`known-hosts`
 * is a pef extension of Bolt's ssh config).
 */
import type { LabHost, LabPaths } from './lab-layout.js';

/** The inventory document (plain data, ready for YAML). */
export function labInventory(paths: LabPaths, hosts: readonly LabHost[]): Record<string, unknown> {
  const target = (h: LabHost): Record<string, unknown> => ({
    name: h.fqdn,
    uri: h.address,
    alias: h.name,
    vars: { role: h.role },
  });
  const group = (name: string, members: LabHost[]): Record<string, unknown> => ({ name, targets: members.map(target) });
  return {
    version: 2,
    config: {
      transport: 'ssh',
      ssh: {
        user: 'root',
        'private-key': paths.privateKey,
        'known-hosts': paths.knownHosts,
        'host-key-check': true,
      },
    },
    groups: [
      group(
        'primaries',
        hosts.filter((h) => h.role === 'primary'),
      ),
      group(
        'replicas',
        hosts.filter((h) => h.role === 'replica'),
      ),
      group(
        'agents',
        hosts.filter((h) => h.role === 'agent'),
      ),
    ],
  };
}

/** The inventory as YAML text. */
export async function labInventoryYaml(paths: LabPaths, hosts: readonly LabHost[]): Promise<string> {
  const { stringify } = await import('yaml');
  return `# pef lab inventory, written by \`pef lab up\`; removed by \`pef lab down\`.\n${stringify(labInventory(paths, hosts))}`;
}

/** known_hosts lines (name, short name, address) for the lab hosts' ed25519 keys. */
export function knownHostsLines(entries: readonly { host: LabHost; publicKey: string }[]): string {
  return entries
    .map(({ host, publicKey }) => {
      const [type, key] = publicKey.trim().split(/\s+/);
      return `${host.fqdn},${host.name},${host.address} ${type ?? ''} ${key ?? ''}`;
    })
    .join('\n')
    .concat('\n');
}
