/**
 * `pef lab partition HOST [OTHER]` and `pef lab heal`: network faults between lab hosts, for
 * the drills. Packets are dropped by one nftables table per lab network (`pef_lab_127_0_10`),
 * matched by destination address and by the cgroup of the sending socket (lab-cgroup.ts):
 * lab hosts share the machine's network and all connect from 127.0.0.1, so the sender is
 * known only by its cgroup. Only the lab's own addresses are ever matched. `heal` and
 * `lab down` delete the table.
 *
 * - `partition HOST`: HOST can reach no other host of the lab, and nothing (other hosts, the
 *   controller) can reach HOST; HOST still reaches its own address.
 * - `partition HOST OTHER`: only traffic between the two is cut.
 * - `partition HOST controller`: only traffic from outside the lab (pef itself) to HOST is cut.
 */
import { PefError } from '../errors/pef-error.js';
import { cgroupLevel, hostCgroup, labCgroup, nftCgroupPath } from './lab-cgroup.js';
import type { LabHost } from './lab-layout.js';
import { labPaths } from './lab-layout.js';
import { readLabState } from './lab-state.js';
import type { LabState } from './lab-state.js';
import { runCommand } from './lab-process.js';

/** The name `partition` takes for "pef and anything else outside the lab". */
export const CONTROLLER = 'controller';

/** The nftables table (family inet) of one lab network. */
export function partitionTable(addressPrefix: string): string {
  return `pef_lab_${addressPrefix.replaceAll('.', '_')}`;
}

/** Resolves nft cgroup paths; injected so the rule text can be checked without a cgroup mount. */
export type CgroupPathOf = (cgroup: string) => string | undefined;

/**
 * The nft script that adds one partition (creating the table and its base chain if needed).
 * Each partition is a chain of its own, jumped to from the base chain, so `return` in one
 * never skips another.
 */
export function partitionScript(
  prefix: string,
  a: LabHost,
  b: LabHost | typeof CONTROLLER | undefined,
  chain: string,
  pathOf: CgroupPathOf = (c) => nftCgroupPath(c),
): string {
  const table = `inet ${partitionTable(prefix)}`;
  const member = (cgroup: string): string => {
    const path = pathOf(cgroup);
    if (path === undefined) {
      throw new PefError(
        'pef/lab-error',
        'pef lab partition needs cgroup v2 mounted under /sys/fs/cgroup (it tells lab hosts apart by cgroup)',
      );
    }
    return `socket cgroupv2 level ${cgroupLevel(cgroup)} ${JSON.stringify(path)}`;
  };
  const ofA = member(hostCgroup(prefix, a.name));
  const label = `pef lab partition ${a.name}${b === undefined ? '' : ` ${typeof b === 'string' ? b : b.name}`}`;
  let rules: string[];
  if (b === undefined) {
    rules = [
      `ip daddr ${a.address} ${ofA} return`,
      `ip daddr ${a.address} drop`,
      `${ofA} ip daddr ${prefix}.0/24 drop`,
    ];
  } else if (b === CONTROLLER) {
    rules = [`ip daddr ${a.address} ${member(labCgroup(prefix))} return`, `ip daddr ${a.address} drop`];
  } else {
    rules = [`${ofA} ip daddr ${b.address} drop`, `${member(hostCgroup(prefix, b.name))} ip daddr ${a.address} drop`];
  }
  return [
    `add table ${table}`,
    `add chain ${table} output { type filter hook output priority 0; policy accept; }`,
    `add chain ${table} ${chain}`,
    ...rules.map((r) => `add rule ${table} ${chain} ${r}`),
    `add rule ${table} output jump ${chain} comment ${JSON.stringify(label)}`,
  ].join('\n');
}

async function nft(
  args: readonly string[],
  input?: string,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const out = await runCommand(['nft', ...args], input === undefined ? {} : { input });
  if (out.exitCode === 127 || /command not found|ENOENT/.test(out.stderr)) {
    throw new PefError('pef/lab-error', 'pef lab partition needs nftables (`nft`); run scripts/install.sh');
  }
  return out;
}

async function labState(dir: string | undefined): Promise<LabState> {
  const paths = labPaths(dir);
  const state = await readLabState(paths);
  if (state === undefined) {
    throw new PefError('pef/lab-error', `no lab in ${paths.dir}; start one with \`pef lab up\` (or pass --dir)`, {
      dir: paths.dir,
    });
  }
  return state;
}

function hostNamed(state: LabState, name: string): LabHost {
  const host = state.hosts.find((h) => h.name === name || h.fqdn === name || h.address === name);
  if (host === undefined) {
    throw new PefError(
      'pef/usage-error',
      `no lab host '${name}'; the lab has ${state.hosts.map((h) => h.name).join(', ')} (and '${CONTROLLER}' as the other side)`,
      { host: name },
    );
  }
  return host;
}

/** The partitions in force (their labels), read back from the kernel; [] when none. */
export async function labPartitions(addressPrefix: string): Promise<string[]> {
  const out = await runCommand(['nft', 'list', 'chain', 'inet', partitionTable(addressPrefix), 'output']).catch(
    () => undefined,
  );
  if (out?.exitCode !== 0) return [];
  return [...out.stdout.matchAll(/comment "pef lab partition ([^"]+)"/g)].map((m) => m[1] ?? '');
}

/** Cuts the network between `a` and `b` (or around `a`); see the file comment. Returns the partitions in force. */
export async function labPartition(
  a: string,
  b: string | undefined,
  options: { dir?: string } = {},
): Promise<string[]> {
  const state = await labState(options.dir);
  const hostA = hostNamed(state, a);
  const other = b === undefined || b === CONTROLLER ? b : hostNamed(state, b);
  if (other !== undefined && other !== CONTROLLER && other.name === hostA.name) {
    throw new PefError('pef/usage-error', `a host cannot be partitioned from itself (${a})`);
  }
  const existing = await labPartitions(state.addressPrefix);
  const label = `${hostA.name}${other === undefined ? '' : ` ${typeof other === 'string' ? other : other.name}`}`;
  if (existing.includes(label)) return existing;
  const chain = `p${existing.length + 1}_${Date.now().toString(36)}`;
  const out = await nft(['-f', '-'], partitionScript(state.addressPrefix, hostA, other, chain));
  if (out.exitCode !== 0) {
    throw new PefError('pef/lab-error', `nft refused the partition rules: ${out.stderr.trim()}`, { partition: label });
  }
  return labPartitions(state.addressPrefix);
}

/** Removes every partition of the lab network `addressPrefix`; true when there was one. */
export async function healPartitions(addressPrefix: string): Promise<boolean> {
  const out = await runCommand(['nft', 'delete', 'table', 'inet', partitionTable(addressPrefix)]).catch(
    () => undefined,
  );
  return out?.exitCode === 0;
}

/** `pef lab heal`: removes every partition of the lab in `dir`. */
export async function labHeal(options: { dir?: string } = {}): Promise<{ healed: boolean }> {
  const state = await labState(options.dir);
  return { healed: await healPartitions(state.addressPrefix) };
}
