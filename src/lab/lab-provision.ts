/**
 * The steps `pef lab up` runs inside the hosts once they exist: private configs (host-setup.sh),
 * sshd and the inventory's keys, the primary's Puppet server (one JVM at a time), the other
 * hosts' certificates, the PE stand-ins, and the services each host boots with.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { LabHost, LabPaths, LabProfile } from './lab-layout.js';
import type { LabHostState, LabState } from './lab-state.js';
import { readHostFile, writeHostFile } from './lab-holder.js';
import { check, runCommand, runInHost, runScriptInHost } from './lab-process.js';
import { peStandins, readLabAsset } from './lab-assets.js';
import { knownHostsLines } from './lab-inventory.js';
import { expectedServices } from './lab-status.js';
import { PefError } from '../errors/pef-error.js';

const SERVICE_SHIM = '/usr/local/sbin/pef-lab-service';
const SITE_PP: Record<LabProfile, string> = {
  oss: '/etc/puppet/code/environments/production/manifests/site.pp',
  pe: '/etc/puppetlabs/code/environments/production/manifests/site.pp',
};
/** The services that make a primary a Puppet server, in start order. */
const SERVER_SERVICES: Record<LabProfile, readonly string[]> = {
  oss: ['puppetdb', 'puppetserver'],
  pe: ['pe-puppetdb', 'pe-puppetserver'],
};
function hostsFileLines(hosts: readonly LabHost[]): string {
  return hosts
    .map((h) => `${h.address} ${h.fqdn} ${h.name}${h.role === 'primary' ? ' puppet.lab puppet' : ''}`)
    .join('\n');
}

/** What host-setup.sh needs to know about a host (see its header). */
function setupEnv(
  host: LabHost,
  hosts: readonly LabHost[],
  prefix: string,
  profile: LabProfile,
): Record<string, string> {
  return {
    LAB_PROFILE: profile,
    LAB_FQDN: host.fqdn,
    LAB_NETWORK: `${prefix}.0/24`,
    LAB_ADDRESS: host.address,
    LAB_ROLE: host.role,
    LAB_PRIMARY: hosts.find((h) => h.role === 'primary')?.fqdn ?? host.fqdn,
    LAB_HOSTS_LINES: hostsFileLines(hosts),
  };
}

/** Runs one step of host-setup.sh on each of `hosts`, in parallel. */
async function setupStep(
  step: string,
  on: readonly LabHostState[],
  all: readonly LabHostState[],
  o: { addressPrefix: string; profile: LabProfile },
): Promise<void> {
  const setup = await readLabAsset('host-setup.sh');
  await Promise.all(
    on.map(async (h) =>
      check(
        await runScriptInHost(h.initPid, setup, [step], {
          env: setupEnv(h, all, o.addressPrefix, o.profile),
          timeoutMs: 300_000,
        }),
        `lab step ${step} on ${h.fqdn}`,
        { host: h.name },
      ),
    ),
  );
}

/** One step of `pef lab up`; see the file comment. */
export async function prepareHosts(
  paths: LabPaths,
  hosts: LabHostState[],
  o: { addressPrefix: string; profile: LabProfile },
  progress: (l: string) => void,
): Promise<void> {
  const shim = await readLabAsset('pef-lab-service.sh');
  progress(
    `preparing ${hosts.length} hosts (${o.profile === 'pe' ? 'Puppet Enterprise layout, ' : ''}ssh keys, configs bound to ${o.addressPrefix}.x)`,
  );
  await Promise.all(hosts.map((h) => writeHostFile(h.initPid, SERVICE_SHIM, shim, 0o755)));
  await setupStep('prep', hosts, hosts, o);
  if (o.profile === 'pe')
    await installPeStandins(
      paths,
      hosts.filter((h) => h.role !== 'agent'),
    );
}

// The PE stand-ins on the PE servers, and the one PE installation they share (primary first).
async function installPeStandins(paths: LabPaths, servers: readonly LabHostState[]): Promise<void> {
  const { files, dirs } = await peStandins();
  for (const host of servers) {
    for (const f of files) await writeHostFile(host.initPid, f.path, f.content, f.mode);
    for (const d of dirs) {
      const into = `/proc/${host.initPid}/root${d.into}`;
      check(await runCommand(['mkdir', '-p', into]), `creating ${d.into} on ${host.fqdn}`);
      check(await runCommand(['cp', '-a', d.from, into]), `copying ${d.from} to ${host.fqdn}`);
    }
  }
  const primary = servers.find((h) => h.role === 'primary');
  const state = {
    pef_standin: 'pef lab stand-in, not Puppet Enterprise',
    primary: primary?.fqdn,
    replicas: {},
    jobs: [],
    events: [],
  };
  await writeFile(`${paths.sharedDir}/pe-infra.json`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** One step of `pef lab up`; see the file comment. */
export async function startSsh(paths: LabPaths, hosts: LabHostState[], progress: (l: string) => void): Promise<void> {
  const hostKeys = await Promise.all(
    hosts.map(async (host) => ({
      host,
      publicKey: await readHostFile(host.initPid, '/etc/ssh/ssh_host_ed25519_key.pub'),
    })),
  );
  const rootKeys = await Promise.all(hosts.map((h) => readHostFile(h.initPid, '/root/.ssh/id_ed25519.pub')));
  const labKey = await readFile(`${paths.privateKey}.pub`, 'utf8');
  const knownHosts = knownHostsLines(hostKeys);
  const authorized = [labKey, ...rootKeys]
    .map((k) => k.trim())
    .join('\n')
    .concat('\n');
  await writeFile(paths.knownHosts, knownHosts);
  progress('starting sshd on every host');
  await Promise.all(
    hosts.map(async (h) => {
      await writeHostFile(h.initPid, '/root/.ssh/authorized_keys', authorized, 0o600);
      await writeHostFile(h.initPid, '/etc/ssh/ssh_known_hosts', knownHosts);
      check(
        await runInHost(h.initPid, [SERVICE_SHIM, 'start', 'sshd'], { timeoutMs: 30_000 }),
        `starting sshd on ${h.fqdn}`,
      );
    }),
  );
}

/** One step of `pef lab up`; see the file comment. */
export async function startPrimary(
  hosts: LabHostState[],
  o: { addressPrefix: string; profile: LabProfile },
  progress: (l: string) => void,
): Promise<void> {
  const primary = hosts.find((h) => h.role === 'primary');
  if (primary === undefined) throw new PefError('pef/internal', 'lab has no primary');
  await writeHostFile(primary.initPid, SITE_PP[o.profile], await readLabAsset('site.pp'));
  if (o.profile === 'pe') {
    progress("primary, replica: PE's databases in pe-postgresql, secrets, console configuration");
    await setupStep(
      'pe-server',
      hosts.filter((h) => h.role !== 'agent'),
      hosts,
      o,
    );
  }
  progress('primary: CA, PostgreSQL database, PuppetDB configuration');
  await setupStep('primary-server', [primary], hosts, o);
  // One JVM at a time: two booting together on 2 cores take as long as both in a row, or longer.
  for (const svc of SERVER_SERVICES[o.profile]) {
    progress(`primary: starting ${svc} (about a minute)`);
    check(
      await runInHost(primary.initPid, [SERVICE_SHIM, 'start', svc], { timeoutMs: 400_000 }),
      `starting ${svc} on ${primary.fqdn}`,
      {
        host: primary.name,
        log: `${o.profile === 'pe' ? '/var/log/puppetlabs/' : '/var/log/'}${svc.replace(/^pe-/, '')}/ on ${primary.fqdn}`,
      },
    );
  }
}

// PE servers: the classifier stand-in (pe-console-services) once their certificates exist.
/** One step of `pef lab up`; see the file comment. */
export async function startConsoles(
  hosts: LabHostState[],
  o: { addressPrefix: string; profile: LabProfile },
  progress: (l: string) => void,
): Promise<void> {
  const servers = hosts.filter((h) => h.role !== 'agent');
  progress(`${servers.map((h) => h.name).join(', ')}: starting pe-console-services (the classifier stand-in)`);
  await setupStep('pe-console', servers, hosts, o);
  await Promise.all(
    servers.map(async (h) =>
      check(
        await runInHost(h.initPid, [SERVICE_SHIM, 'start', 'pe-console-services'], { timeoutMs: 60_000 }),
        `starting pe-console-services on ${h.fqdn}`,
        {
          host: h.name,
          log: `/var/log/puppetlabs/console-services/console.log on ${h.fqdn}`,
        },
      ),
    ),
  );
}

/** One step of `pef lab up`; see the file comment. */
export async function signCertificates(hosts: LabHostState[], progress: (l: string) => void): Promise<void> {
  const primary = hosts.find((h) => h.role === 'primary');
  const others = hosts.filter((h) => h.role !== 'primary');
  if (primary === undefined || others.length === 0) return;
  progress(`certificates for ${others.map((h) => h.fqdn).join(', ')}`);
  await Promise.all(
    others.map(async (h) =>
      check(
        await runInHost(h.initPid, ['puppet', 'ssl', 'submit_request'], { timeoutMs: 120_000 }),
        `CSR from ${h.fqdn}`,
        { host: h.name },
      ),
    ),
  );
  check(
    await runInHost(
      primary.initPid,
      ['puppetserver', 'ca', 'sign', '--certname', others.map((h) => h.fqdn).join(',')],
      { timeoutMs: 120_000 },
    ),
    'signing the lab certificates on primary',
  );
  await Promise.all(
    others.map(async (h) =>
      check(
        await runInHost(h.initPid, ['puppet', 'ssl', 'download_cert'], { timeoutMs: 120_000 }),
        `downloading the cert of ${h.fqdn}`,
        {
          host: h.name,
        },
      ),
    ),
  );
}

// What `up` started is what the host boots after `pef lab stop` / `pef lab start` (systemctl enable).
/** One step of `pef lab up`; see the file comment. */
export async function enableAtBoot(state: LabState): Promise<void> {
  await Promise.all(
    state.hosts.map(async (h) => {
      const services = expectedServices(h, state.reached);
      if (services.length === 0) return;
      const script = services.map((s) => `${SERVICE_SHIM} enable ${s}`).join(' && ');
      check(await runInHost(h.initPid, ['sh', '-c', script], { timeoutMs: 30_000 }), `enabling services on ${h.fqdn}`);
    }),
  );
}
