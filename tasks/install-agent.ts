/**
 * install_agent: the Puppet agent (and, for open source Puppet, the server packages) on the
 * replica at exactly the primary's versions, from the replica's own package repositories: never
 * `curl | bash` from the primary. Reads both sides, decides everything first, and refuses the
 * whole run (installing nothing) when any package cannot be brought to the primary's version.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { discoverHost } from '../src/host/discover.js';
import {
  ALL_PACKAGES,
  availableVersionsCommand,
  installedPackagesCommand,
  installPackagesCommand,
  parseAvailableVersions,
  parseInstalledPackages,
  planPackages,
  type PackagePlan,
} from '../src/puppet/packages.js';
import { defineTask } from '../src/task/task.js';

/** Explains a refusal: package, wanted version, what the replica has and what it could get. */
export function describeRefusals(plan: PackagePlan): string {
  return plan.refuse
    .map((r) => `  ${r.name}: primary has ${r.wanted}, replica has ${r.have ?? 'nothing'}; ${r.why}`)
    .join('\n');
}

/** Installs matching packages on the replica; see the file comment. */
export const installAgent = defineTask({
  name: 'install_agent',
  description:
    "Install the Puppet agent (and for oss the server packages) on the replica at exactly the primary's versions",
  details: `Run on the replica with source=<the primary's inventory name>. Compares puppet-agent (or Debian's
puppet), and for open source Puppet puppetserver, puppetdb and the PuppetDB terminus, with dpkg-query
or rpm, and installs what differs with apt-get/dnf/yum at the exact version. Refuses, installing
nothing, when a version is not in the replica's repositories (naming what is) or would be a
downgrade without allow_downgrade=true. For PE only the agent is handled: the PE installer does the rest.`,
  params: z.object({
    source: z.string().min(1).describe("the primary's inventory name: the versions to match"),
    allow_downgrade: z.boolean().default(false).describe('allow installing an older version than the replica has'),
  }),
  supportsNoop: true,
  // Long on purpose: it reads as the runbook it replaces, each step in order with its refusal
  // beside it; the step helpers live in src/.
  async run(ctx) {
    const name = ctx.target.name;
    const primary = await ctx.peer(ctx.params.source);
    const primaryFacts = await discoverHost((c) => primary.read(c));
    const theirs = parseInstalledPackages(
      (await primary.read(installedPackagesCommand(ALL_PACKAGES))).stdout,
      ALL_PACKAGES,
    );
    const ours = parseInstalledPackages((await ctx.read(installedPackagesCommand(ALL_PACKAGES))).stdout, ALL_PACKAGES);
    if (
      !Object.values(theirs.versions).some((v) => v !== null) ||
      (!theirs.versions['puppet-agent'] && !theirs.versions['puppet'])
    ) {
      throw new PefError(
        'pef/task-failed',
        `install_agent on ${name}: found no Puppet agent package on ${primary.target.name} (looked for puppet-agent, puppet with dpkg-query/rpm). Is source=${ctx.params.source} the primary? Nothing was changed.`,
        {
          source: primary.target.name,
        },
      );
    }
    const needsRepo = Object.entries(theirs.versions).some(([pkg, v]) => v !== null && ours.versions[pkg] !== v);
    if (needsRepo && ours.manager === 'unknown') {
      throw new PefError(
        'pef/task-failed',
        `install_agent on ${name}: neither dpkg nor rpm is there, so pef cannot install packages. Install the primary's versions by hand. Nothing was changed.`,
        {},
      );
    }
    const available = needsRepo
      ? parseAvailableVersions((await ctx.read(availableVersionsCommand(ours.manager, ALL_PACKAGES))).stdout)
      : {};
    const plan = planPackages({
      flavor: primaryFacts.flavor,
      primary: theirs.versions,
      replica: ours.versions,
      available,
      allowDowngrade: ctx.params.allow_downgrade,
    });
    const report = {
      source: primary.target.name,
      flavor: primaryFacts.flavor,
      manager: ours.manager,
      versions: plan.wanted,
      matching: plan.matching,
    };
    if (plan.refuse.length > 0) {
      throw new PefError(
        'pef/task-failed',
        `install_agent on ${name}: cannot match ${primary.target.name}'s package versions:\n${describeRefusals(plan)}\n` +
          `Add the repository that has them (for Puppet's own packages: apt.puppet.com / yum.puppet.com${ours.manager === 'apt' ? ', then apt-get update' : ''}), or upgrade the primary. Nothing was installed.`,
        { ...report, refuse: plan.refuse },
      );
    }
    if (plan.install.length === 0) return { changed: false, value: { ...report, installed: [] } };

    ctx.log(`installing ${plan.install.map((i) => `${i.name}=${i.version}`).join(', ')}`);
    try {
      await ctx.change(installPackagesCommand(ours.manager, plan.install), { timeoutMs: 1_800_000 });
    } catch (error) {
      throw new PefError(
        'pef/task-failed',
        `install_agent on ${name}: the package install failed: ${(error as Error).message}\nThe package manager may have installed part of it; run install_agent again (it installs only what still differs).`,
        { ...report, install: plan.install },
      );
    }
    if (!ctx.noop) {
      const after = parseInstalledPackages(
        (await ctx.read(installedPackagesCommand(ALL_PACKAGES))).stdout,
        ALL_PACKAGES,
      ).versions;
      const off = plan.install.filter((i) => after[i.name] !== i.version);
      if (off.length) {
        throw new PefError(
          'pef/task-failed',
          `install_agent on ${name}: after installing, ${off.map((i) => `${i.name} is ${after[i.name] ?? 'missing'}, not ${i.version}`).join('; ')}. Check the package manager's log.`,
          {
            ...report,
            after,
          },
        );
      }
    }
    return { changed: true, value: { ...report, installed: plan.install } };
  },
});
