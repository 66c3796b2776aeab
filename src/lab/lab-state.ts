/**
 * The lab's state file (`<state dir>/state.json`) and the lock that keeps two `lab up` runs
 * apart. The state file is written as soon as each holder exists, so a killed `up` still tells
 * `down` what to remove (and `down` also finds holders by command line when it does not).
 */
import { readFile, writeFile, rename, open, unlink } from 'node:fs/promises';
import type { LabHost, LabPaths, LabProfile } from './lab-layout.js';
import { isAlive } from './lab-procfs.js';
import { PefError } from '../errors/pef-error.js';

/** A host as recorded in the state file. */
export interface LabHostState extends LabHost {
  /** Controller pid of the `unshare` parent. */
  holderPid: number;
  /** Controller pid of the host's init (PID 1 inside the host); nsenter targets it. */
  initPid: number;
  /** Set by `pef lab stop` (power cut), cleared by `pef lab start`. */
  stopped?: boolean;
}

/** Contents of state.json. */
export interface LabState {
  version: 1;
  profile: LabProfile;
  agents: number;
  addressPrefix: string;
  /** `starting` until `up` has finished every step it was asked for. */
  phase: 'starting' | 'up';
  /** The last step `up` completed (`hosts`, `ssh` or `full`). */
  reached: 'none' | 'hosts' | 'ssh' | 'full';
  startedAt: string;
  upPid: number;
  hosts: LabHostState[];
}

/** Reads state.json, or undefined when there is none (or it is unreadable). */
export async function readLabState(paths: LabPaths): Promise<LabState | undefined> {
  try {
    const state = JSON.parse(await readFile(paths.state, 'utf8')) as LabState;
    return state.version === 1 ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Writes state.json atomically. */
export async function writeLabState(paths: LabPaths, state: LabState): Promise<void> {
  const tmp = `${paths.state}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, paths.state);
}

/** Takes the up lock, waiting up to `waitMs` for a live holder of it; returns the release function. */
export async function acquireLabLock(paths: LabPaths, waitMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(paths.lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        // A lock already gone is released; a stale one is taken over by the next `up` (below).
        await unlink(paths.lock).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(paths.lock, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(owner) || owner <= 0 || !isAlive(owner)) {
      // A killed `up` left its lock behind; if another `up` removed it first, that is fine too.
      await unlink(paths.lock).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new PefError(
        'pef/lab-error',
        `another \`pef lab up\` (pid ${owner}) is working on ${paths.dir}; wait for it or run \`pef lab down --dir ${paths.dir}\``,
        { dir: paths.dir, pid: owner },
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
