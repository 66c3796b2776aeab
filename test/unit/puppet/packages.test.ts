import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  ALL_PACKAGES,
  compareVersions,
  installedPackagesCommand,
  installPackagesCommand,
  parseAvailableVersions,
  parseInstalledPackages,
  planPackages,
  type InstalledVersions,
} from '../../../src/puppet/packages.js';

const none = (): InstalledVersions => Object.fromEntries(ALL_PACKAGES.map((n) => [n, null]));
const versions = (v: Record<string, string>): InstalledVersions => ({ ...none(), ...v });
const OSS = {
  'puppet-agent': '7.23.0-1+deb12u1',
  puppetserver: '7.9.5-2+deb12u1',
  puppetdb: '7.12.1-3',
  'puppet-terminus-puppetdb': '7.12.1-3',
};

describe('compareVersions (dpkg order)', () => {
  it.each([
    ['7.23.0-1', '7.23.0-1', 0],
    ['7.23.0-1', '7.24.0-1', -1],
    ['7.9.5-2', '7.10.0-1', -1],
    ['7.23.0-1+deb12u1', '7.23.0-1', 1],
    ['1.0~rc1-1', '1.0-1', -1],
    ['1:1.0-1', '2.0-1', 1],
    ['7.23.0-1.el9', '7.23.0-1.el8', 1],
    ['1.0a', '1.0', 1],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
    expect(Math.sign(compareVersions(b, a))).toBe(sign === 0 ? 0 : -sign);
  });
});

describe('planPackages', () => {
  const available = Object.fromEntries(Object.entries(OSS).map(([k, v]) => [k, [v]]));

  it('does nothing when every version matches', () => {
    const plan = planPackages({
      flavor: 'oss',
      primary: versions(OSS),
      replica: versions(OSS),
      available: {},
      allowDowngrade: false,
    });
    expect(plan).toEqual({ wanted: OSS, matching: Object.keys(OSS), install: [], refuse: [] });
  });

  it('installs what is missing or older at the exact version', () => {
    const plan = planPackages({
      flavor: 'oss',
      primary: versions(OSS),
      replica: versions({ 'puppet-agent': '7.20.0-1' }),
      available,
      allowDowngrade: false,
    });
    expect(plan.refuse).toEqual([]);
    expect(plan.install).toEqual([
      { name: 'puppet-agent', version: '7.23.0-1+deb12u1', from: '7.20.0-1', downgrade: false },
      { name: 'puppetserver', version: '7.9.5-2+deb12u1', from: null, downgrade: false },
      { name: 'puppetdb', version: '7.12.1-3', from: null, downgrade: false },
      { name: 'puppet-terminus-puppetdb', version: '7.12.1-3', from: null, downgrade: false },
    ]);
  });

  it('refuses a version the repositories do not offer, naming what they do', () => {
    const plan = planPackages({
      flavor: 'oss',
      primary: versions(OSS),
      replica: versions({ ...OSS, puppetdb: null as unknown as string }),
      available: { puppetdb: ['7.13.0-1', '7.11.0-1'] },
      allowDowngrade: false,
    });
    expect(plan.install).toEqual([]);
    expect(plan.refuse).toEqual([
      {
        name: 'puppetdb',
        wanted: '7.12.1-3',
        have: null,
        available: ['7.13.0-1', '7.11.0-1'],
        why: "the replica's repositories offer 7.13.0-1, 7.11.0-1, not 7.12.1-3",
      },
    ]);
    const nothing = planPackages({
      flavor: 'oss',
      primary: versions(OSS),
      replica: versions({}),
      available: {},
      allowDowngrade: false,
    });
    expect(nothing.refuse.map((r) => r.why)).toEqual(
      Array(4).fill("the replica's repositories do not offer this package"),
    );
  });

  it('refuses a downgrade unless allowed', () => {
    const input = {
      flavor: 'oss' as const,
      primary: versions({ 'puppet-agent': '7.23.0-1' }),
      replica: versions({ 'puppet-agent': '7.24.0-1' }),
      available: { 'puppet-agent': ['7.24.0-1', '7.23.0-1'] },
    };
    expect(planPackages({ ...input, allowDowngrade: false }).refuse[0]?.why).toBe(
      'the replica has the newer 7.24.0-1; downgrading needs allow_downgrade=true',
    );
    expect(planPackages({ ...input, allowDowngrade: true }).install).toEqual([
      { name: 'puppet-agent', version: '7.23.0-1', from: '7.24.0-1', downgrade: true },
    ]);
  });

  it('matches only the agent for PE, and the package name the primary uses (Debian 11 "puppet")', () => {
    const pe = planPackages({
      flavor: 'pe',
      primary: versions({ 'puppet-agent': '7.28.0-1focal', puppetserver: '7.17.0-1' }),
      replica: versions({}),
      available: { 'puppet-agent': ['7.28.0-1focal'] },
      allowDowngrade: false,
    });
    expect(pe.wanted).toEqual({ 'puppet-agent': '7.28.0-1focal' });
    const deb11 = planPackages({
      flavor: 'oss',
      primary: versions({ puppet: '5.5.22-2' }),
      replica: versions({ puppet: '5.5.22-2' }),
      available: {},
      allowDowngrade: false,
    });
    expect(deb11).toMatchObject({ wanted: { puppet: '5.5.22-2' }, matching: ['puppet'], install: [] });
  });
});

describe('package commands', () => {
  it('installs exact versions with apt (downgrades allowed only when planned) and dnf/yum', () => {
    expect(
      installPackagesCommand('apt', [
        { name: 'puppet-agent', version: '7.23.0-1+deb12u1', from: null, downgrade: false },
      ]),
    ).toBe(
      'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends puppet-agent=7.23.0-1+deb12u1',
    );
    expect(
      installPackagesCommand('apt', [{ name: 'puppetdb', version: '7.12.1-3', from: '7.13.0-1', downgrade: true }]),
    ).toContain('--allow-downgrades puppetdb=7.12.1-3');
    expect(
      installPackagesCommand('rpm', [
        { name: 'puppet-agent', version: '7.23.0-1.el9', from: null, downgrade: false },
        { name: 'puppetdb', version: '7.12.1-1.el9', from: '7.13.0-1.el9', downgrade: true },
      ]),
    ).toBe(
      'Y=$(command -v dnf || command -v yum) && "$Y" -y install puppet-agent-7.23.0-1.el9 && "$Y" -y downgrade puppetdb-7.12.1-1.el9',
    );
  });

  it('parses installed and available versions', () => {
    expect(
      parseInstalledPackages('manager=apt\npkg=puppet-agent 7.23.0-1\npkg=bogus 1\n', ['puppet-agent', 'puppetdb']),
    ).toEqual({ manager: 'apt', versions: { 'puppet-agent': '7.23.0-1', puppetdb: null } });
    expect(
      parseAvailableVersions('avail=puppetdb 7.12.1-3\navail=puppetdb 7.12.1-3\navail=puppetdb 7.11.0-1\nnoise\n'),
    ).toEqual({ puppetdb: ['7.12.1-3', '7.11.0-1'] });
  });

  const dpkg = existsSync('/usr/bin/dpkg-query') ? it : it.skip;
  dpkg("reads this machine's installed packages with the real probe (read-only)", () => {
    const stdout = execFileSync('sh', ['-c', installedPackagesCommand(['puppet-agent', 'pef-no-such-package'])], {
      encoding: 'utf8',
    });
    const want = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'puppet-agent'], { encoding: 'utf8' });
    expect(parseInstalledPackages(stdout, ['puppet-agent', 'pef-no-such-package'])).toEqual({
      manager: 'apt',
      versions: { 'puppet-agent': want, 'pef-no-such-package': null },
    });
  });
});
