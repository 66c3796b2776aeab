import { describe, expect, it } from '@jest/globals';
import type { HostFacts } from '../../../src/host/discover.js';
import { pairFindings, type PairMeasurements } from '../../../src/workflow/pair-checks.js';

function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    flavor: 'oss',
    peVersion: null,
    certname: 'primary.lab',
    dnsAltNames: ['puppet', 'puppet.lab', 'primary.lab'],
    server: 'primary.lab',
    caServer: 'primary.lab',
    paths: { puppet: '/usr/bin/puppet', confdir: '', codedir: '', ssldir: '', cadir: '', vardir: '' },
    versions: { agent: '7.23.0', server: '7.9.5', puppetdb: '7.12.1', postgresql: '15' },
    hasCa: true,
    serviceManager: 'systemd',
    systemd: true,
    services: [],
    postgres: { bin: null, superuser: 'postgres', databases: null },
    diskFreeKb: {},
    ...over,
  };
}
const fine: PairMeasurements = { primaryDataKb: 100_000, replicaFreeKb: 500_000, clockSkewS: 0.4 };
const status = (f: ReturnType<typeof pairFindings>) => Object.fromEntries(f.map((x) => [x.check, x.status]));

describe('pair checks', () => {
  it('pass a pair of the same flavor and versions with room and synchronised clocks', () => {
    const found = pairFindings(facts(), facts({ certname: 'replica.lab' }), fine);
    expect(status(found)).toEqual({ flavor: 'ok', versions: 'ok', dns_alt_names: 'ok', disk: 'ok', clock: 'ok' });
  });

  it('refuse mixed flavors and different PE versions', () => {
    expect(status(pairFindings(facts(), facts({ flavor: 'pe', peVersion: '2023.8.1' }), fine))['flavor']).toBe('error');
    const pe = (v: string) => facts({ flavor: 'pe', peVersion: v });
    const found = pairFindings(pe('2023.8.1'), pe('2023.7.0'), fine);
    expect(found.find((f) => f.check === 'flavor')?.message).toMatch(/install PE 2023.8.1 on the replica/);
  });

  it('leave differing oss versions to install_agent, with a warning', () => {
    const replica = facts({ versions: { agent: '7.20.0', server: null, puppetdb: null, postgresql: null } });
    const found = pairFindings(facts(), replica, fine).find((f) => f.check === 'versions');
    expect(found?.status).toBe('warning');
    expect(found?.message).toMatch(/agent 7.23.0 vs 7.20.0.*install_agent/);
  });

  it('warn, naming the fix, when the primary certificate has no name agents could use for both', () => {
    const found = pairFindings(facts({ dnsAltNames: ['primary.lab'] }), facts(), fine).find(
      (f) => f.check === 'dns_alt_names',
    );
    expect(found?.status).toBe('warning');
    expect(found?.message).toMatch(/--dns_alt_names/);
  });

  it('refuse a replica with less than twice the data free, and clocks a minute apart', () => {
    const found = pairFindings(facts(), facts(), { primaryDataKb: 300_000, replicaFreeKb: 500_000, clockSkewS: -75 });
    expect(status(found)).toMatchObject({ disk: 'error', clock: 'error' });
    expect(found.find((f) => f.check === 'clock')?.message).toMatch(/75s apart/);
  });
});
