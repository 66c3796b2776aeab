/**
 * `pef lab down`: kill every host of a lab (holders found from the state file and by command
 * line, so a killed `up` is cleaned too), check nothing of it is left, remove the state dir.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { labPaths } from './lab-layout.js';
import { readLabState } from './lab-state.js';
import { killHolders } from './lab-holder.js';
import { healPartitions } from './lab-partition.js';
import { removeLabCgroups } from './lab-cgroup.js';
import { findHolders, namespaceOf, processesInNamespace } from './lab-procfs.js';
import { PefError } from '../errors/pef-error.js';

/** What `labDown` did. */
export interface LabDownResult {
  dir: string;
  /** False when there was nothing to remove. */
  removed: boolean;
  /** Hosts whose holder was still running. */
  hostsStopped: string[];
}

// Only ever delete a directory that is recognisably a lab's: `--dir /` must not be fatal.
const LAB_ENTRIES = new Set(['state.json', 'up.lock', 'inventory.yaml', 'keys', 'hosts', 'shared']);

async function looksLikeLabDir(dir: string): Promise<boolean> {
  const entries = await readdir(dir);
  return entries.every((e) => LAB_ENTRIES.has(e) || /^state\.json\.\d+\.tmp$/.test(e));
}

/** Tears down the lab in `dir` (default `.pef-lab`); a missing lab is not an error. */
export async function labDown(options: { dir?: string } = {}): Promise<LabDownResult> {
  const paths = labPaths(options.dir);
  const exists = await stat(paths.dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const holders = findHolders(paths.dir);
  if (!exists && holders.length === 0) return { dir: paths.dir, removed: false, hostsStopped: [] };
  if (exists && !(await looksLikeLabDir(paths.dir))) {
    throw new PefError(
      'pef/lab-error',
      `${paths.dir} does not look like a pef lab state dir (unexpected files); not removing it`,
      {
        dir: paths.dir,
      },
    );
  }
  const state = await readLabState(paths);
  const inits = new Map<string, number>();
  for (const h of state?.hosts ?? []) inits.set(h.name, h.initPid);
  for (const h of holders.filter((x) => x.isInit)) inits.set(h.host, h.pid);
  const namespaces = [...inits.values()]
    .map((pid) => namespaceOf(pid, 'mnt'))
    .filter((ns): ns is string => ns !== undefined && ns !== namespaceOf(process.pid, 'mnt'));

  await killHolders(paths);
  if (state !== undefined) {
    await healPartitions(state.addressPrefix);
    await removeLabCgroups(state.addressPrefix);
  }
  for (const ns of namespaces) {
    const left = processesInNamespace(ns);
    if (left.length > 0) {
      throw new PefError(
        'pef/lab-error',
        `processes ${left.join(', ')} are still in a lab host (${ns}); kill them and rerun \`pef lab down\``,
        {
          pids: left,
        },
      );
    }
  }
  if (exists) await rm(paths.dir, { recursive: true, force: true, maxRetries: 3 });
  return {
    dir: paths.dir,
    removed: true,
    hostsStopped: [...new Set(holders.filter((h) => h.isInit).map((h) => h.host))],
  };
}
