/**
 * What /proc says about lab processes. The lab has no daemon of its own to ask: holders are
 * found by their command line (`pef-lab-holder <state dir>/hosts/<host>`), host processes by
 * their mount namespace, and in-host pids mapped to the controller's through `NSpid`.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/** The marker argument every holder carries, so a lab is found even without its state file. */
export const HOLDER_MARKER = 'pef-lab-holder';

/** A holder process: the `unshare` parent or the host's init (PID 1 inside the host). */
export interface HolderProcess {
  pid: number;
  host: string;
  /** True for the host's init (bash), false for its `unshare` parent. */
  isInit: boolean;
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** argv of a process, or undefined once it is gone or a zombie. */
export function cmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? undefined : raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** The state letter of a process (R, S, Z …), or undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** True when the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z';
}

/** The namespace id (`mnt:[4026532]`) a process is in, or undefined once it is gone. */
export function namespaceOf(pid: number, ns: 'mnt' | 'pid' | 'uts'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return undefined;
  }
}

/** Holder processes of the lab in `dir` (absolute), found by command line. */
export function findHolders(dir: string): HolderProcess[] {
  const hostsDir = `${dir}/hosts`;
  const found: HolderProcess[] = [];
  for (const pid of pids()) {
    const argv = cmdline(pid);
    if (argv === undefined) continue;
    const at = argv.indexOf(HOLDER_MARKER);
    const hostDir = at >= 0 ? argv[at + 1] : undefined;
    if (hostDir === undefined || dirname(hostDir) !== hostsDir) continue;
    found.push({ pid, host: basename(hostDir), isInit: argv[0] !== 'unshare' });
  }
  return found;
}

/** Live (non-zombie) processes in the given mount namespace. */
export function processesInNamespace(mntNamespace: string): number[] {
  return pids().filter((pid) => namespaceOf(pid, 'mnt') === mntNamespace && isAlive(pid));
}

/** The controller's pid of the process that is `innerPid` inside the host whose init is `initPid`. */
export function outerPid(initPid: number, innerPid: number): number | undefined {
  const pidNs = namespaceOf(initPid, 'pid');
  if (pidNs === undefined) return undefined;
  for (const pid of pids()) {
    if (namespaceOf(pid, 'pid') !== pidNs) continue;
    try {
      const nspid = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.split(/\s+/);
      if (nspid !== undefined && Number(nspid[nspid.length - 1]) === innerPid) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
