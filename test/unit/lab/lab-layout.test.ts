import { describe, it, expect } from '@jest/globals';
import { labHosts, labPaths } from '../../../src/lab/lab-layout.js';
import { labInventory, knownHostsLines } from '../../../src/lab/lab-inventory.js';
import { formatLabStatus } from '../../../src/lab/lab-status.js';
import type { LabStatus } from '../../../src/lab/lab-status.js';

describe('labHosts', () => {
  it('puts primary on .1, replica on .2 and agentN on .(2+N), all *.lab', () => {
    expect(labHosts(2).map((h) => [h.name, h.fqdn, h.role, h.address])).toEqual([
      ['primary', 'primary.lab', 'primary', '127.0.10.1'],
      ['replica', 'replica.lab', 'replica', '127.0.10.2'],
      ['agent1', 'agent1.lab', 'agent', '127.0.10.3'],
      ['agent2', 'agent2.lab', 'agent', '127.0.10.4'],
    ]);
  });

  it('runs the server stack on primary only', () => {
    const [primary, replica, agent] = labHosts(1);
    expect(primary?.services).toEqual(['sshd', 'postgresql', 'puppetdb', 'puppetserver']);
    expect(replica?.services).toEqual(['sshd']);
    expect(agent?.services).toEqual(['sshd']);
  });

  it('uses another network when asked', () => {
    expect(labHosts(0, '127.0.11').map((h) => h.address)).toEqual(['127.0.11.1', '127.0.11.2']);
  });
});

describe('labInventory', () => {
  const paths = labPaths('/srv/lab-state');

  it('writes Bolt v2 with root ssh, the lab key and known_hosts, and a role per target', () => {
    const inv = labInventory(paths, labHosts(1)) as {
      version: number;
      config: { transport: string; ssh: Record<string, unknown> };
      groups: { name: string; targets: { name: string; uri: string; alias: string; vars: { role: string } }[] }[];
    };
    expect(inv.version).toBe(2);
    expect(inv.config).toEqual({
      transport: 'ssh',
      ssh: {
        user: 'root',
        'private-key': '/srv/lab-state/keys/id_lab',
        'known-hosts': '/srv/lab-state/keys/known_hosts',
        'host-key-check': true,
      },
    });
    expect(
      inv.groups.map((g) => [g.name, g.targets.map((t) => `${t.name}@${t.uri}/${t.alias}/${t.vars.role}`)]),
    ).toEqual([
      ['primaries', ['primary.lab@127.0.10.1/primary/primary']],
      ['replicas', ['replica.lab@127.0.10.2/replica/replica']],
      ['agents', ['agent1.lab@127.0.10.3/agent1/agent']],
    ]);
  });

  it('names each host by fqdn, short name and address in known_hosts', () => {
    const [primary] = labHosts(0);
    expect(knownHostsLines([{ host: primary!, publicKey: 'ssh-ed25519 AAAAkey root@primary.lab\n' }])).toBe(
      'primary.lab,primary,127.0.10.1 ssh-ed25519 AAAAkey\n',
    );
  });
});

describe('formatLabStatus', () => {
  it('lists running and expected services and says whether the lab is healthy', () => {
    const status: LabStatus = {
      dir: '/x',
      exists: true,
      healthy: false,
      profile: 'oss',
      phase: 'up',
      inventory: '/x/inventory.yaml',
      hosts: [
        {
          name: 'primary',
          fqdn: 'primary.lab',
          role: 'primary',
          address: '127.0.10.1',
          running: true,
          stopped: false,
          initPid: 10,
          services: [
            { name: 'sshd', state: 'up', expected: true, pid: 11 },
            { name: 'puppetserver', state: 'down', expected: true },
            { name: 'puppet', state: 'down', expected: false },
          ],
        },
        {
          name: 'agent1',
          fqdn: 'agent1.lab',
          role: 'agent',
          address: '127.0.10.3',
          running: false,
          stopped: false,
          services: [],
        },
        {
          name: 'agent2',
          fqdn: 'agent2.lab',
          role: 'agent',
          address: '127.0.10.4',
          running: true,
          stopped: true,
          services: [],
        },
      ],
      partitions: ['primary controller'],
    };
    const text = formatLabStatus(status);
    expect(text).toMatch(/^primary\.lab {2}127\.0\.10\.1 {2}sshd {10}up +11$/m);
    expect(text).toMatch(/^primary\.lab {2}127\.0\.10\.1 {2}puppetserver {2}DOWN +-$/m);
    expect(text).not.toContain('puppet ');
    expect(text).toContain('agent1.lab   127.0.10.3  (host)        down');
    expect(text).toMatch(/^agent2\.lab {3}127\.0\.10\.4 {2}\(host\) {8}STOPPED {2}-$/m);
    expect(text).toContain('stopped: agent2 (`pef lab start agent2` boots it)');
    expect(text).toContain('partition: primary controller (`pef lab heal` removes it)');
    expect(text).toContain('NOT healthy');
    expect(text).toContain('inventory: /x/inventory.yaml');
  });

  it('says how to start a lab when there is none', () => {
    expect(formatLabStatus({ dir: '/x', exists: false, healthy: false, hosts: [], partitions: [] })).toContain(
      'pef lab up',
    );
  });
});
