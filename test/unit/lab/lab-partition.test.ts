import { describe, it, expect } from '@jest/globals';
import { labHosts } from '../../../src/lab/lab-layout.js';
import { CONTROLLER, partitionScript, partitionTable } from '../../../src/lab/lab-partition.js';
import { cgroup2Mount, cgroupLevel, hostCgroup, inCgroup, nftCgroupPath } from '../../../src/lab/lab-cgroup.js';

const [primary, replica] = labHosts(1, '127.0.26');
const hybrid = (c: string): string => `unified/${c}`;

describe('lab cgroups', () => {
  it('finds the cgroup v2 mount on a hybrid and on a unified hierarchy', () => {
    const hybridMounts = 'cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n';
    expect(cgroup2Mount(hybridMounts)).toBe('/sys/fs/cgroup/unified');
    expect(cgroup2Mount('cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n')).toBe('/sys/fs/cgroup');
    expect(cgroup2Mount('proc /proc proc rw 0 0\n')).toBeUndefined();
  });

  it('names one cgroup per host under the lab network, as nft resolves it', () => {
    expect(hostCgroup('127.0.26', 'primary')).toBe('pef-lab/127_0_26/primary');
    expect(cgroupLevel('pef-lab/127_0_26/primary')).toBe(3);
    expect(nftCgroupPath('pef-lab/127_0_26/primary', '/sys/fs/cgroup/unified')).toBe(
      'unified/pef-lab/127_0_26/primary',
    );
    expect(nftCgroupPath('pef-lab/127_0_26/primary', '/sys/fs/cgroup')).toBe('pef-lab/127_0_26/primary');
    expect(nftCgroupPath('pef-lab/x', '/mnt/cg2')).toBeUndefined();
  });

  it('joins the cgroup before exec, and leaves argv alone without cgroup v2', () => {
    const argv = inCgroup('pef-lab/127_0_26/primary', ['nsenter', '-t', '1'], '/sys/fs/cgroup/unified');
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv[2]).toContain('cgroup.procs');
    expect(argv[2]).toMatch(/exec "\$@"$/);
    expect(argv.slice(4)).toEqual(['/sys/fs/cgroup/unified/pef-lab/127_0_26/primary', 'nsenter', '-t', '1']);
    expect(inCgroup('pef-lab/x', ['true'], null)).toEqual(['true']);
    expect(inCgroup(undefined, ['true'], '/sys/fs/cgroup')).toEqual(['true']);
  });
});

describe('partitionScript', () => {
  it('cuts one host off from every other lab address and everything off from it', () => {
    const script = partitionScript('127.0.26', primary!, undefined, 'p1', hybrid);
    const table = `inet ${partitionTable('127.0.26')}`;
    expect(partitionTable('127.0.26')).toBe('pef_lab_127_0_26');
    expect(script.split('\n')).toEqual([
      `add table ${table}`,
      `add chain ${table} output { type filter hook output priority 0; policy accept; }`,
      `add chain ${table} p1`,
      `add rule ${table} p1 ip daddr 127.0.26.1 socket cgroupv2 level 3 "unified/pef-lab/127_0_26/primary" return`,
      `add rule ${table} p1 ip daddr 127.0.26.1 drop`,
      `add rule ${table} p1 socket cgroupv2 level 3 "unified/pef-lab/127_0_26/primary" ip daddr 127.0.26.0/24 drop`,
      `add rule ${table} output jump p1 comment "pef lab partition primary"`,
    ]);
  });

  it('cuts only the two hosts apart when given two', () => {
    const rules = partitionScript('127.0.26', primary!, replica, 'p2', hybrid)
      .split('\n')
      .filter((l) => l.startsWith('add rule inet pef_lab_127_0_26 p2 '));
    expect(rules).toEqual([
      'add rule inet pef_lab_127_0_26 p2 socket cgroupv2 level 3 "unified/pef-lab/127_0_26/primary" ip daddr 127.0.26.2 drop',
      'add rule inet pef_lab_127_0_26 p2 socket cgroupv2 level 3 "unified/pef-lab/127_0_26/replica" ip daddr 127.0.26.1 drop',
    ]);
  });

  it('lets the lab reach the host but not the controller with `controller`', () => {
    const script = partitionScript('127.0.26', primary!, CONTROLLER, 'p3', hybrid);
    expect(script).toContain('p3 ip daddr 127.0.26.1 socket cgroupv2 level 2 "unified/pef-lab/127_0_26" return');
    expect(script).toContain('p3 ip daddr 127.0.26.1 drop');
    expect(script).toContain('comment "pef lab partition primary controller"');
  });

  it('matches only lab addresses', () => {
    const script = partitionScript('127.0.26', primary!, undefined, 'p1', hybrid);
    for (const address of script.match(/\d+\.\d+\.\d+\.\d+(\/\d+)?/g) ?? []) expect(address).toMatch(/^127\.0\.26\./);
  });

  it('refuses without a cgroup v2 mount nft can resolve', () => {
    expect(() => partitionScript('127.0.26', primary!, undefined, 'p1', () => undefined)).toThrow(/cgroup v2/);
  });
});
