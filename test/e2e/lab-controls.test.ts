/**
 * The lab's fault controls, on the shared lab: `partition` cuts exactly the traffic it names
 * (by the sender's cgroup, since every lab host connects from 127.0.0.1), `heal` restores it,
 * `stop` cuts a host's power (no process left, sshd gone) and `start` boots it with the services
 * enabled on it after a crash (on agent1, with PostgreSQL enabled: the primary's boot with its
 * JVMs is the DR drill's).
 * Leaves the lab healthy for the suites after it.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { connect } from 'node:net';
import { ensureLab, labSupported, TEST_LAB_DIR } from '../helpers/lab.js';
import type { LabInfo } from '../helpers/lab.js';
import { labExec } from '../../src/lab/lab-exec.js';
import { labStatus } from '../../src/lab/lab-status.js';
import { labHeal, labPartition, labPartitions } from '../../src/lab/lab-partition.js';
import { labStart, labStop } from '../../src/lab/lab-power.js';
import { namespaceOf, processesInNamespace } from '../../src/lab/lab-procfs.js';

const maybe = labSupported() ? describe : describe.skip;

// Whether a TCP connection from this process (the controller, outside the lab) opens in time.
function reachable(address: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

// The HTTP status a host gets from the primary's Puppet Server, or 'unreachable'.
async function statusFrom(host: string, address: string): Promise<string> {
  const out = await labExec(
    host,
    [
      'curl',
      '-sk',
      '--max-time',
      '4',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `https://${address}:8140/status/v1/simple`,
    ],
    { dir: TEST_LAB_DIR },
  );
  return out.exitCode === 0 ? out.stdout.trim() : 'unreachable';
}

maybe('lab controls', () => {
  let lab: LabInfo;
  let primary: string;
  let agent: string;

  beforeAll(async () => {
    lab = await ensureLab();
    primary = lab.hosts.find((h) => h.role === 'primary')!.address;
    agent = lab.hosts.find((h) => h.role === 'agent')!.address;
  });

  afterAll(async () => {
    await labHeal({ dir: TEST_LAB_DIR });
  });

  it('partitions one host from the others: neither side reaches the other, the host still reaches itself', async () => {
    expect(await statusFrom('agent1', primary)).toBe('200');
    await labPartition('primary', undefined, { dir: TEST_LAB_DIR });
    expect(await statusFrom('agent1', primary)).toBe('unreachable');
    expect(await reachable(primary, 22)).toBe(false);
    expect(await statusFrom('primary', primary)).toBe('200');
    const status = await labStatus({ dir: TEST_LAB_DIR });
    expect(status.partitions).toEqual(['primary']);
    expect(status.healthy).toBe(false);
    expect(await labHeal({ dir: TEST_LAB_DIR })).toEqual({ healed: true });
    expect(await statusFrom('agent1', primary)).toBe('200');
    expect(await reachable(primary, 22)).toBe(true);
  });

  it('cuts only the controller off with `controller`, and only two hosts apart when given two', async () => {
    await labPartition('primary', 'controller', { dir: TEST_LAB_DIR });
    expect(await reachable(primary, 22)).toBe(false);
    expect(await reachable(agent, 22)).toBe(true);
    expect(await statusFrom('agent1', primary)).toBe('200');
    await labHeal({ dir: TEST_LAB_DIR });

    await labPartition('agent1', 'replica', { dir: TEST_LAB_DIR });
    expect(await labPartitions(lab.hosts[0]!.address.replace(/\.\d+$/, ''))).toEqual(['agent1 replica']);
    const toReplica = await labExec('agent1', ['bash', '-c', `exec 3<>/dev/tcp/${lab.hosts[1]!.address}/22`], {
      dir: TEST_LAB_DIR,
      timeoutMs: 3_000,
    });
    expect(toReplica.exitCode).not.toBe(0);
    expect(await statusFrom('agent1', primary)).toBe('200');
    await labHeal({ dir: TEST_LAB_DIR });
    expect(await labHeal({ dir: TEST_LAB_DIR })).toEqual({ healed: false });
  });

  it('refuses a host it does not know, naming the lab hosts', async () => {
    await expect(labPartition('nosuch', undefined, { dir: TEST_LAB_DIR })).rejects.toThrow(
      /no lab host 'nosuch'; the lab has primary, replica, agent1/,
    );
  });

  // On agent1, with PostgreSQL enabled for the test: the same power cut and boot as a server's,
  // without two JVMs to boot. The primary's own (its JVMs, then its fence by epoch) is the DR
  // drill's (test/e2e/workflows/drill.test.ts).
  it('stops a host like a power cut and boots it again with its enabled services', async () => {
    const host = lab.hosts.find((h) => h.role === 'agent')!;
    const shim = (...args: string[]) => labExec('agent1', ['pef-lab-service', ...args], { dir: TEST_LAB_DIR });
    expect((await shim('enable', 'postgresql')).exitCode).toBe(0);
    try {
      expect((await labStop('agent1', { dir: TEST_LAB_DIR })).changed).toBe(true);
      // Nothing of the host runs but its init (and init's idle sleep): no sshd, no postgres.
      const left = processesInNamespace(namespaceOf(host.initPid, 'mnt')!).filter((p) => p !== host.initPid);
      expect(left.length).toBeLessThanOrEqual(1);
      expect(await reachable(agent, 22)).toBe(false);
      const stopped = await labStatus({ dir: TEST_LAB_DIR });
      expect(stopped.healthy).toBe(false);
      expect(stopped.hosts.find((h) => h.name === 'agent1')?.stopped).toBe(true);
      expect((await labStop('agent1', { dir: TEST_LAB_DIR })).changed).toBe(false);

      const booted = await labStart('agent1', { dir: TEST_LAB_DIR });
      expect(booted.changed).toBe(true);
      expect(booted.started).toEqual(['sshd', 'postgresql']);
      expect(await reachable(agent, 22)).toBe(true);
      expect((await shim('status', 'postgresql')).exitCode).toBe(0);
      expect((await labStatus({ dir: TEST_LAB_DIR })).healthy).toBe(true);
    } finally {
      await labStart('agent1', { dir: TEST_LAB_DIR });
      await shim('stop', 'postgresql');
      await shim('disable', 'postgresql');
    }
  });
});
