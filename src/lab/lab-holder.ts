/**
 * Holders: one `unshare --mount --uts --ipc --pid --fork --mount-proc` per lab host whose init
 * (holder.sh) mounts the host's private filesystem and then only reaps orphans. Killing the init
 * makes the kernel kill every process of the host, so teardown cannot leak a daemon.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, writeFile, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LabHost, LabPaths } from './lab-layout.js';
import { OVERLAY_DIRS } from './lab-layout.js';
import { HOLDER_MARKER, findHolders, isAlive } from './lab-procfs.js';
import { labAssetPath } from './lab-assets.js';
import { hostCgroup, inCgroup } from './lab-cgroup.js';
import { PefError } from '../errors/pef-error.js';

/** Pids of a started holder. */
export interface HolderPids {
  holderPid: number;
  initPid: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Starts the holder of one host and waits until its filesystem is mounted. */
// The spawn and its readiness wait share the child, its log and its pids; they read in order.
export async function startHolder(paths: LabPaths, host: LabHost): Promise<HolderPids> {
  const hostDir = paths.hostDir(host.name);
  for (const d of OVERLAY_DIRS) {
    const n = d.slice(1).replaceAll('/', '-');
    await mkdir(join(hostDir, 'upper', n), { recursive: true });
    await mkdir(join(hostDir, 'work', n), { recursive: true });
  }
  await mkdir(paths.sharedDir, { recursive: true });
  const script = await labAssetPath('holder.sh');
  const log = await open(paths.holderLog(host.name), 'w');
  const prefix = host.address.slice(0, host.address.lastIndexOf('.'));
  // The host's cgroup (lab-cgroup.ts) is joined before unshare, so every process of the host inherits it.
  const [command, ...args] = inCgroup(hostCgroup(prefix, host.name), [
    'unshare',
    '--mount',
    '--uts',
    '--ipc',
    '--pid',
    '--fork',
    '--mount-proc',
    '--propagation',
    'private',
    '--',
    '/bin/bash',
    script,
    HOLDER_MARKER,
    hostDir,
    host.fqdn,
  ]);
  const child = spawn(
    command ?? 'unshare',
    args,
    // setsid (detached): the host outlives `pef lab up` and no terminal signal reaches it.
    { detached: true, stdio: ['ignore', log.fd, log.fd] },
  );
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  try {
    await spawned;
  } catch (error) {
    throw new PefError(
      'pef/lab-error',
      `cannot start unshare for ${host.fqdn}: ${(error as Error).message}; is util-linux installed?`,
      {
        host: host.name,
      },
    );
  } finally {
    await log.close();
  }
  child.unref();
  const holderPid = child.pid ?? 0;
  for (let waited = 0; waited < 15_000; waited += 50) {
    const text = await readFile(paths.holderLog(host.name), 'utf8').catch(() => '');
    if (text.includes('ready')) {
      const children = await readFile(`/proc/${holderPid}/task/${holderPid}/children`, 'utf8').catch(() => '');
      const initPid = Number(children.trim().split(/\s+/)[0]);
      if (Number.isInteger(initPid) && initPid > 0) return { holderPid, initPid };
    }
    if (!isAlive(holderPid)) {
      throw new PefError(
        'pef/lab-error',
        `the holder of ${host.fqdn} exited while mounting its filesystem:\n${text.trim()}`,
        {
          host: host.name,
          log: paths.holderLog(host.name),
        },
      );
    }
    await sleep(50);
  }
  throw new PefError(
    'pef/lab-error',
    `the holder of ${host.fqdn} did not get ready in 15 s; see ${paths.holderLog(host.name)}`,
    {
      host: host.name,
    },
  );
}

/**
 * Kills every holder of the lab in `paths.dir` (found by command line, so also those a killed
 * `up` never recorded) and waits until they and their hosts' processes are gone.
 */
export async function killHolders(paths: LabPaths, timeoutMs = 15_000): Promise<void> {
  const holders = findHolders(paths.dir);
  // TERM to init: it exits, and the kernel SIGKILLs the rest of its PID namespace.
  for (const h of holders.filter((x) => x.isInit)) signal(h.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const left = findHolders(paths.dir).filter((h) => isAlive(h.pid));
    if (left.length === 0) return;
    // An init that ignores TERM (still mounting) or an unshare whose init never started.
    if (Date.now() > deadline - timeoutMs / 2) for (const h of left) signal(h.pid, 'SIGKILL');
    await sleep(100);
  }
  const left = findHolders(paths.dir).filter((h) => isAlive(h.pid));
  if (left.length > 0) {
    throw new PefError(
      'pef/lab-error',
      `lab holders still running after ${timeoutMs} ms: ${left.map((h) => `${h.host} pid ${h.pid}`).join(', ')}`,
      {
        pids: left.map((h) => h.pid),
      },
    );
  }
}

/** Writes a file inside a host (through /proc/<init>/root, i.e. the host's own mount view). */
export async function writeHostFile(initPid: number, path: string, content: string, mode = 0o644): Promise<void> {
  const target = `/proc/${initPid}/root${path}`;
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, content);
  await chmod(target, mode);
}

/** Reads a file inside a host. */
export async function readHostFile(initPid: number, path: string): Promise<string> {
  return readFile(`/proc/${initPid}/root${path}`, 'utf8');
}
