/**
 * One cgroup (v2) per lab host. Lab hosts share the machine's network namespace, and their
 * outgoing connections leave from 127.0.0.1 whatever address the daemons listen on, so a
 * packet cannot be told apart by its source address: it is told apart by the cgroup of the
 * socket that sent it (nftables' `socket cgroupv2`, see lab-partition.ts). Every process of a
 * host joins its cgroup: the holder before it execs `unshare`, and every command pef starts
 * in the host through nsenter (it joins the cgroup of the host's init first).
 * Without a cgroup v2 mount the lab still works; only `pef lab partition` refuses.
 */
import { readFileSync } from 'node:fs';
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The directory nftables resolves `socket cgroupv2` paths against. */
const NFT_CGROUP_ROOT = '/sys/fs/cgroup';

/** Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup` or `/sys/fs/cgroup/unified`), if it is. */
export function cgroup2Mount(mounts = readFileSync('/proc/mounts', 'utf8')): string | undefined {
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'cgroup2' && mountPoint !== undefined) return mountPoint;
  }
  return undefined;
}

/** The cgroup, relative to the cgroup v2 root, of one lab network (`pef-lab/127_0_10`). */
export function labCgroup(addressPrefix: string): string {
  return `pef-lab/${addressPrefix.replaceAll('.', '_')}`;
}

/** The cgroup of one host of that lab (`pef-lab/127_0_10/primary`). */
export function hostCgroup(addressPrefix: string, host: string): string {
  return `${labCgroup(addressPrefix)}/${host}`;
}

/**
 * A cgroup path as nftables wants it: relative to /sys/fs/cgroup, where nft looks it up when
 * the rule is loaded (on a hybrid hierarchy the v2 root is /sys/fs/cgroup/unified). Undefined
 * when cgroup v2 is not mounted under /sys/fs/cgroup.
 */
export function nftCgroupPath(cgroup: string, mount: string | null = cgroup2Mount() ?? null): string | undefined {
  if (mount === null) return undefined;
  if (mount === NFT_CGROUP_ROOT) return cgroup;
  if (!mount.startsWith(`${NFT_CGROUP_ROOT}/`)) return undefined;
  return `${mount.slice(NFT_CGROUP_ROOT.length + 1)}/${cgroup}`;
}

/** How deep `cgroup` sits below the v2 root (what `socket cgroupv2 level N` compares). */
export function cgroupLevel(cgroup: string): number {
  return cgroup.split('/').length;
}

/**
 * argv that runs `argv` as a member of `cgroup` (created if missing), or `argv` itself when
 * cgroup v2 is not mounted. The shell joins the cgroup and then execs, so every descendant
 * of the command is a member too.
 */
export function inCgroup(
  cgroup: string | undefined,
  argv: readonly string[],
  mount: string | null = cgroup2Mount() ?? null,
): string[] {
  if (cgroup === undefined || mount === null) return [...argv];
  const dir = join(mount, cgroup);
  return ['sh', '-c', 'mkdir -p "$1" && echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', dir, ...argv];
}

/** The cgroup (relative to the v2 root) a process is in, or undefined once it is gone. */
export function cgroupOf(pid: number): string | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    const path = line?.slice(3).replace(/^\//, '');
    return path === undefined || path === '' ? undefined : path;
  } catch {
    return undefined;
  }
}

/** Removes a lab network's cgroups once their processes are gone; missing ones are fine. */
export async function removeLabCgroups(
  addressPrefix: string,
  mount: string | null = cgroup2Mount() ?? null,
): Promise<void> {
  if (mount === null) return;
  const dir = join(mount, labCgroup(addressPrefix));
  const hosts = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const h of hosts) if (h.isDirectory()) await removeCgroup(join(dir, h.name));
  await removeCgroup(dir);
}

// A cgroup that is already gone is what we wanted. One still busy gets a few seconds (the
// kernel is reaping the host's last processes); after that it is a real problem.
async function removeCgroup(dir: string): Promise<void> {
  for (let waited = 0; ; waited += 100) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || waited >= 10_000) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
