/**
 * `pef lab up`: builds the hosts (holders), prepares each one's private copy of the machine,
 * starts sshd everywhere and writes the inventory, then makes primary a Puppet server (CA,
 * PostgreSQL, PuppetDB, puppetserver, one JVM at a time) and signs the other hosts' certs.
 * Idempotent: a healthy lab is reported as is; stale state of a killed run is cleared first;
 * a failing `up` tears down what it started.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { LabPaths, LabProfile } from './lab-layout.js';
import { DEFAULT_ADDRESS_PREFIX, MAX_AGENTS, OVERLAY_DIRS, labHosts, labPaths } from './lab-layout.js';
import type { LabHostState, LabState } from './lab-state.js';
import { acquireLabLock, readLabState, writeLabState } from './lab-state.js';
import { killHolders, startHolder } from './lab-holder.js';
import { check, runCommand } from './lab-process.js';
import { labInventoryYaml } from './lab-inventory.js';
import { labStatus } from './lab-status.js';
import {
  enableAtBoot,
  prepareHosts,
  signCertificates,
  startConsoles,
  startPrimary,
  startSsh,
} from './lab-provision.js';
import type { LabStatus } from './lab-status.js';
import { healPartitions } from './lab-partition.js';
import { removeLabCgroups } from './lab-cgroup.js';
import { bootHost } from './lab-power.js';
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
      if (same && enough && (await repair(paths, existing, status, progress))) {
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
    await clearStale(paths, addressPrefix);
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
      // The build's own error is the one to report; `lab down` clears whatever this teardown left.
      await clearStale(paths, addressPrefix).catch(() => undefined);
      throw error;
    }
  } finally {
    await release();
    // Only a dir this failed `up` created; the holders in it are already gone (clearStale).
    if (failed && createdDir) await rm(paths.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

// A lab whose only faults are drill faults (hosts stopped, partitions) is repaired in place:
// healed and booted rather than rebuilt. True when that left it healthy.
async function repair(
  paths: LabPaths,
  state: LabState,
  status: LabStatus,
  progress: (l: string) => void,
): Promise<boolean> {
  if (!status.hosts.every((h) => h.running)) return false;
  if (status.partitions.length > 0) {
    progress(`healing ${status.partitions.join(', ')}`);
    await healPartitions(state.addressPrefix);
  }
  for (const host of state.hosts.filter((h) => h.stopped === true)) {
    progress(`starting ${host.fqdn}, stopped by \`pef lab stop\``);
    await bootHost(state, host);
    await writeLabState(paths, state);
  }
  return (await labStatus({ dir: paths.dir })).healthy;
}

// Removes everything in dir except the lock, killing holders first (and the lab's partitions and cgroups).
async function clearStale(paths: LabPaths, addressPrefix: string): Promise<void> {
  await killHolders(paths);
  await healPartitions(addressPrefix);
  await removeLabCgroups(addressPrefix);
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
  await enableAtBoot(state);
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
