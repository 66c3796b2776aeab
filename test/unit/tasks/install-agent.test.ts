import { describe, expect, it } from '@jest/globals';
import {
  ALL_PACKAGES,
  availableVersionsCommand,
  installedPackagesCommand,
  installPackagesCommand,
  type PackageInstall,
} from '../../../src/puppet/packages.js';
import { installAgent } from '../../../tasks/install-agent.js';
import type { CommandHandler } from '../../helpers/fake-runtime.js';
import { answer, fakePuppetHost, runOn } from '../../helpers/fake-puppet-host.js';

interface Packages {
  installed: Record<string, string>;
  available: Record<string, string[]>;
}

const PRIMARY: Packages = {
  installed: { 'puppet-agent': '7.23.0-1', puppetserver: '7.9.2-1', puppetdb: '7.12.1-1' },
  available: {},
};

/** Package answers for both hosts; the install command installs exactly the items a test expects. */
function packagesWorld(replica: Packages, expectInstall: PackageInstall[]): CommandHandler {
  const primaryHost = fakePuppetHost();
  const hosts: Record<string, Packages> = { primary: PRIMARY, replica };
  return (target, command, options) => {
    const pkgs = hosts[target];
    if (!pkgs) return { exitCode: 127 };
    if (command === installedPackagesCommand(ALL_PACKAGES))
      return {
        stdout: `manager=apt\n${Object.entries(pkgs.installed)
          .map(([n, v]) => `pkg=${n} ${v}\n`)
          .join('')}`,
      };
    if (command === availableVersionsCommand('apt', ALL_PACKAGES))
      return {
        stdout: Object.entries(pkgs.available)
          .flatMap(([n, vs]) => vs.map((v) => `avail=${n} ${v}\n`))
          .join(''),
      };
    if (command === installPackagesCommand('apt', expectInstall)) {
      for (const i of expectInstall) pkgs.installed[i.name] = i.version;
      return {};
    }
    return (target === 'primary' ? answer(primaryHost, command, options) : null) ?? { exitCode: 127 };
  };
}

describe('install_agent task', () => {
  it("installs exactly the primary's versions that differ, then changes nothing", async () => {
    const replica: Packages = {
      installed: { 'puppet-agent': '7.20.0-1', puppetserver: '7.9.2-1' },
      available: { 'puppet-agent': ['7.20.0-1', '7.23.0-1'], puppetdb: ['7.12.1-1'] },
    };
    const install = [
      { name: 'puppet-agent', version: '7.23.0-1', from: '7.20.0-1', downgrade: false },
      { name: 'puppetdb', version: '7.12.1-1', from: null, downgrade: false },
    ];
    const world = packagesWorld(replica, install);
    const r = await runOn(installAgent, world, 'replica', { source: 'primary' });
    expect(r.result.error).toBeUndefined();
    expect(r.result).toMatchObject({
      changed: true,
      value: { flavor: 'oss', manager: 'apt', matching: ['puppetserver'], installed: install },
    });
    expect(r.sent).toContain(installPackagesCommand('apt', install));
    const again = await runOn(installAgent, world, 'replica', { source: 'primary' });
    expect(again.result).toMatchObject({ changed: false, value: { installed: [] } });
  });

  it('refuses the whole run, installing nothing, when a version is missing or would be a downgrade', async () => {
    const replica: Packages = {
      installed: { 'puppet-agent': '8.0.0-1' },
      available: { 'puppet-agent': ['7.23.0-1', '8.0.0-1'], puppetserver: ['7.9.2-1'] },
    };
    const r = await runOn(installAgent, packagesWorld(replica, []), 'replica', { source: 'primary' });
    expect(r.result.error?.msg).toMatch(
      /puppet-agent: primary has 7\.23\.0-1, replica has 8\.0\.0-1; the replica has the newer 8\.0\.0-1; downgrading needs allow_downgrade=true/,
    );
    expect(r.result.error?.msg).toMatch(
      /puppetdb: primary has 7\.12\.1-1, replica has nothing; .*Nothing was installed\./s,
    );
    expect(r.sent.some((c) => c.includes('apt-get install'))).toBe(false);
  });

  it('in noop lists the install and installs nothing', async () => {
    const replica: Packages = {
      installed: { puppetserver: '7.9.2-1', puppetdb: '7.12.1-1' },
      available: { 'puppet-agent': ['7.23.0-1'] },
    };
    const install = [{ name: 'puppet-agent', version: '7.23.0-1', from: null, downgrade: false }];
    const r = await runOn(installAgent, packagesWorld(replica, install), 'replica', { source: 'primary' }, true);
    expect(r.result.noop?.wouldRun).toEqual([installPackagesCommand('apt', install)]);
    expect(replica.installed['puppet-agent']).toBeUndefined();
  });
});
