/**
 * `pef lab up`: builds the hosts (holders), prepares each one's private copy of the machine,
 * starts sshd everywhere and writes the inventory, then makes primary a Puppet server (CA,
 * PostgreSQL, PuppetDB, puppetserver, one JVM at a time) and signs the other hosts' certs.
 * Idempotent: a healthy lab is reported as is; stale state of a killed run is cleared first;
 * a failing `up` tears down what it started.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { LabHost, LabPaths, LabProfile } from './lab-layout.js';
import { DEFAULT_ADDRESS_PREFIX, MAX_AGENTS, OVERLAY_DIRS, labHosts, labPaths } from './lab-layout.js';
import type { LabHostState, LabState } from './lab-state.js';
import { acquireLabLock, readLabState, writeLabState } from './lab-state.js';
import { killHolders, readHostFile, startHolder, writeHostFile } from './lab-holder.js';
import { check, runCommand, runInHost, runScriptInHost } from './lab-process.js';
import { peStandins, readLabAsset } from './lab-assets.js';
import { knownHostsLines, labInventoryYaml } from './lab-inventory.js';
import { labStatus } from './lab-status.js';
import { PefError } from '../errors/pef-error.js';

/** How far `up` goes: `hosts` (holders, private copies), `ssh` (+ sshd, inventory) or `full`. */
export type LabStopAfter = 'hosts' | 'ssh' | 'full';

/** Options of `labUp`. */
export interface LabUpOptions {
  /** State dir (default `.pef-lab` in the current directory). */
  dir?: string;
  /** Default `oss`. */
  profile?: LabProfile;
  /** Number of agents (default 1). */
  agents?: number;
  /** First three octets of the lab network (default 127.0.10). */
  addressPrefix?: string;
  /** Stop early, for cheap tests (default `full`). */
  stopAfter?: LabStopAfter;
  /** Progress lines, for the CLI to print on stderr. */
  onProgress?: (line: string) => void;
  /** How long to wait for another `up` on the same dir (default 15 min). */
  lockWaitMs?: number;
}

/** A lab that is up. */
export interface LabInfo {
  dir: string;
  profile: LabProfile;
  inventory: string;
  privateKey: string;
  knownHosts: string;
  hosts: LabHostState[];
  /** True when an already healthy lab was found and left as it was. */
  reused: boolean;
  durationMs: number;
}

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
const REQUIRED_COMMANDS = [
  'unshare',
  'nsenter',
  'ssh-keygen',
  'ss',
  'sshd',
  'puppet',
  'puppetserver',
  'pg_ctlcluster',
  'java',
];

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

async function preflight(
  options: Required<Pick<LabUpOptions, 'profile' | 'agents' | 'addressPrefix'>>,
  paths: LabPaths,
): Promise<void> {
  if (options.profile !== 'oss' && options.profile !== 'pe') {
    throw new PefError(
      'pef/usage-error',
      `unknown lab profile '${String(options.profile)}'; use --profile oss or --profile pe`,
      {
        profile: options.profile,
      },
    );
  }
  if (!Number.isInteger(options.agents) || options.agents < 0 || options.agents > MAX_AGENTS) {
    throw new PefError(
      'pef/usage-error',
      `--agents must be a whole number from 0 to ${MAX_AGENTS}, got ${String(options.agents)}`,
    );
  }
  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(options.addressPrefix)) {
    throw new PefError(
      'pef/usage-error',
      `lab address prefix must be 127.x.y (inside 127.0.0.0/8), got ${options.addressPrefix}`,
    );
  }
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new PefError(
      'pef/lab-error',
      'pef lab needs root on Linux (it creates mount, UTS, IPC and PID namespaces); run it with sudo',
    );
  }
  const missing: string[] = [];
  for (const cmd of REQUIRED_COMMANDS) {
    const out = await runCommand(['bash', '-c', `PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH command -v ${cmd}`]);
    if (out.exitCode !== 0) missing.push(cmd);
  }
  if (missing.length > 0) {
    throw new PefError('pef/lab-error', `missing commands for the lab: ${missing.join(', ')}; run scripts/install.sh`, {
      missing,
    });
  }
  for (const d of OVERLAY_DIRS) {
    if (paths.dir === d || paths.dir.startsWith(`${d}/`)) {
      throw new PefError(
        'pef/usage-error',
        `the lab state dir ${paths.dir} cannot be under ${d} (lab hosts overlay it); pick another --dir`,
      );
    }
  }
}

/** Listening sockets on the lab network, as `address:port`. */
async function listenersOn(prefix: string): Promise<string[]> {
  const out = await runCommand(['ss', '-Hltn']);
  return out.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[3] ?? '')
    .map((a) => a.replace(/^\[::ffff:(.*)\]/, '$1'))
    .filter((a) => a.startsWith(`${prefix}.`));
}

async function prepareHosts(
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

async function startSsh(paths: LabPaths, hosts: LabHostState[], progress: (l: string) => void): Promise<void> {
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

async function startPrimary(
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
async function startConsoles(
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

async function signCertificates(hosts: LabHostState[], progress: (l: string) => void): Promise<void> {
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

/** Brings a lab up (or finds it up); see the file comment. */
export async function labUp(options: LabUpOptions = {}): Promise<LabInfo> {
  const started = Date.now();
  const profile = options.profile ?? 'oss';
  const agents = options.agents ?? 1;
  const addressPrefix = options.addressPrefix ?? DEFAULT_ADDRESS_PREFIX;
  const stopAfter = options.stopAfter ?? 'full';
  const progress = options.onProgress ?? ((): void => undefined);
  const paths = labPaths(options.dir);
  await preflight({ profile, agents, addressPrefix }, paths);
  const createdDir = (await mkdir(paths.dir, { recursive: true })) !== undefined;
  const release = await acquireLabLock(paths, options.lockWaitMs ?? 15 * 60_000);
  let failed = false;
  try {
    const existing = await readLabState(paths);
    if (existing !== undefined) {
      const status = await labStatus({ dir: paths.dir });
      const same =
        existing.profile === profile && existing.agents === agents && existing.addressPrefix === addressPrefix;
      const enough = existing.reached === stopAfter || existing.reached === 'full';
      if (status.healthy && same && enough) {
        progress(`lab in ${paths.dir} is already up`);
        return info(paths, existing, true, started);
      }
      if (status.healthy && !same) {
        throw new PefError(
          'pef/lab-error',
          `a different lab is up in ${paths.dir} (profile ${existing.profile}, ${existing.agents} agents, ${existing.addressPrefix}.0/24); run \`pef lab down --dir ${paths.dir}\` first`,
          { dir: paths.dir },
        );
      }
      progress(`clearing stale lab state in ${paths.dir}`);
    }
    // Holders and files of an earlier (killed or failed) run, with or without a state file.
    await clearStale(paths);
    const busy = await listenersOn(addressPrefix);
    if (busy.length > 0) {
      throw new PefError(
        'pef/lab-error',
        `addresses of the lab network ${addressPrefix}.0/24 are in use (${busy.join(', ')}); is another lab up? \`pef lab status --dir DIR\` / \`pef lab down --dir DIR\``,
        { listeners: busy },
      );
    }
    try {
      return await build(paths, { profile, agents, addressPrefix, stopAfter }, progress, started);
    } catch (error) {
      failed = true;
      try {
        progress('lab up failed; tearing down what it started');
      } catch {
        // the teardown matters more than the message
      }
      await clearStale(paths).catch(() => undefined);
      throw error;
    }
  } finally {
    await release();
    if (failed && createdDir) await rm(paths.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

// Removes everything in dir except the lock, killing holders first.
async function clearStale(paths: LabPaths): Promise<void> {
  await killHolders(paths);
  for (const entry of ['state.json', 'inventory.yaml', 'keys', 'hosts', 'shared']) {
    await rm(`${paths.dir}/${entry}`, { recursive: true, force: true });
  }
}

async function build(
  paths: LabPaths,
  o: { profile: LabProfile; agents: number; addressPrefix: string; stopAfter: LabStopAfter },
  progress: (l: string) => void,
  started: number,
): Promise<LabInfo> {
  const hosts = labHosts(o.agents, o.addressPrefix, o.profile);
  await mkdir(paths.keysDir, { recursive: true, mode: 0o700 });
  check(
    await runCommand(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'pef-lab', '-f', paths.privateKey]),
    'creating the lab ssh key',
  );
  const state: LabState = {
    version: 1,
    profile: o.profile,
    agents: o.agents,
    addressPrefix: o.addressPrefix,
    phase: 'starting',
    reached: 'none',
    startedAt: new Date().toISOString(),
    upPid: process.pid,
    hosts: [],
  };
  await writeLabState(paths, state);
  progress(`starting ${hosts.length} hosts in ${paths.dir}`);
  for (const host of hosts) {
    state.hosts.push({ ...host, ...(await startHolder(paths, host)) });
    await writeLabState(paths, state);
  }
  await prepareHosts(paths, state.hosts, o, progress);
  state.reached = 'hosts';
  if (o.stopAfter !== 'hosts') {
    await startSsh(paths, state.hosts, progress);
    await writeFile(paths.inventory, await labInventoryYaml(paths, state.hosts));
    state.reached = 'ssh';
  }
  if (o.stopAfter === 'full') {
    await writeLabState(paths, state);
    await startPrimary(state.hosts, o, progress);
    await signCertificates(state.hosts, progress);
    if (o.profile === 'pe') await startConsoles(state.hosts, o, progress);
    state.reached = 'full';
  }
  state.phase = 'up';
  await writeLabState(paths, state);
  return info(paths, state, false, started);
}

function info(paths: LabPaths, state: LabState, reused: boolean, started: number): LabInfo {
  return {
    dir: paths.dir,
    profile: state.profile,
    inventory: paths.inventory,
    privateKey: paths.privateKey,
    knownHosts: paths.knownHosts,
    hosts: state.hosts,
    reused,
    durationMs: Date.now() - started,
  };
}
