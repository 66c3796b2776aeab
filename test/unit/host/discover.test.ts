import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { parseDiscovery } from '../../../src/host/discover.js';

const debianPrimary = `service_manager=lab
systemd=false
puppet_bin=/usr/bin/puppet
flavor=oss
version.agent=7.23.0
config.certname=primary.lab
config.dns_alt_names=primary.lab,puppet.lab
config.confdir=/etc/puppet
config.codedir=/etc/puppet/code
config.ssldir=/var/lib/puppet/ssl
config.cadir=/etc/puppet/puppetserver/ca
config.vardir=/var/cache/puppet
config.server=primary.lab
config.ca_server=primary.lab
version.server=7.9.5-2+deb12u1
version.puppetdb=7.12.1-3
service.puppet=1,0
service.puppetserver=1,1
service.puppetdb=1,1
service.postgresql=1,1
postgres.bin=/usr/lib/postgresql/15/bin
postgres.superuser=postgres
version.postgresql=15.20
postgres.databases=postgres,puppetdb,
has_ca=true
disk./etc/puppet/puppetserver/ca=52428800
disk./tmp=1000
`;

describe('parseDiscovery', () => {
  it('reads a Debian open-source primary', () => {
    const facts = parseDiscovery(debianPrimary);
    expect(facts).toMatchObject({
      flavor: 'oss',
      certname: 'primary.lab',
      dnsAltNames: ['primary.lab', 'puppet.lab'],
      paths: { confdir: '/etc/puppet', ssldir: '/var/lib/puppet/ssl', cadir: '/etc/puppet/puppetserver/ca' },
      versions: { agent: '7.23.0', server: '7.9.5-2+deb12u1', puppetdb: '7.12.1-3', postgresql: '15.20' },
      hasCa: true,
      serviceManager: 'lab',
      postgres: { bin: '/usr/lib/postgresql/15/bin', superuser: 'postgres', databases: ['postgres', 'puppetdb'] },
      diskFreeKb: { '/etc/puppet/puppetserver/ca': 52428800, '/tmp': 1000 },
    });
    expect(facts.services).toEqual([
      { name: 'puppet', present: true, running: false },
      { name: 'puppetserver', present: true, running: true },
      { name: 'puppetdb', present: true, running: true },
      { name: 'postgresql', present: true, running: true },
    ]);
  });

  it('reads a PE host and lists the PE services', () => {
    const facts = parseDiscovery(
      'flavor=pe\npe_version=2023.8.1\nconfig.cadir=/etc/puppetlabs/puppetserver/ca\nservice.pe-puppetserver=1,1\n',
    );
    expect(facts.flavor).toBe('pe');
    expect(facts.peVersion).toBe('2023.8.1');
    expect(facts.services.map((s) => s.name)).toContain('pe-console-services');
    expect(facts.services.find((s) => s.name === 'pe-puppetserver')).toEqual({
      name: 'pe-puppetserver',
      present: true,
      running: true,
    });
    expect(facts.postgres.databases).toBeNull();
  });

  it('is a valid sh script', async () => {
    const { DISCOVER_SCRIPT } = await import('../../../src/host/discover.js');
    expect(() => execFileSync('sh', ['-n', '-c', DISCOVER_SCRIPT])).not.toThrow();
  });
});
