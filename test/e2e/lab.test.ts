/**
 * The lab, end to end: the shared lab (test/helpers/lab.ts) is reachable over real ssh, an agent
 * run on agent1 gets its catalog from primary, agent1's facts land in primary's PuppetDB, the
 * primary collects agent1's exported resource, and `lab down` leaves nothing behind.
 * Runs last (test/helpers/lab-test-sequencer.mjs) because it tears the shared lab down.
 */
import { describe, it, expect, beforeAll } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ensureLab, labSupported, releaseTestLab, TEST_LAB_DIR } from '../helpers/lab.js';
import type { LabInfo } from '../helpers/lab.js';
import { labUp } from '../../src/lab/lab-up.js';
import { labExec } from '../../src/lab/lab-exec.js';
import { labStatus } from '../../src/lab/lab-status.js';
import { labDown } from '../../src/lab/lab-down.js';
import { runCommand } from '../../src/lab/lab-process.js';
import { labLeftovers, labNamespaces, labSockets } from '../helpers/lab-leftovers.js';

const maybe = labSupported() ? describe : describe.skip;

function ssh(
  lab: LabInfo,
  address: string,
  command: string,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return runCommand([
    'ssh',
    '-i',
    lab.privateKey,
    '-o',
    `UserKnownHostsFile=${lab.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    `root@${address}`,
    command,
  ]);
}

maybe('pef lab (oss profile)', () => {
  let lab: LabInfo;

  beforeAll(async () => {
    lab = await ensureLab();
  }, 900_000);

  it('writes a Bolt v2 inventory of every host, with its role and the lab ssh settings', () => {
    const inv = parse(readFileSync(lab.inventory, 'utf8')) as {
      version: number;
      config: { ssh: Record<string, unknown> };
      groups: { name: string; targets: { name: string; uri: string; alias: string; vars: { role: string } }[] }[];
    };
    expect(inv.version).toBe(2);
    expect(inv.config.ssh).toEqual({
      user: 'root',
      'private-key': lab.privateKey,
      'known-hosts': lab.knownHosts,
      'host-key-check': true,
    });
    const targets = inv.groups.flatMap((g) => g.targets).map((t) => [t.name, t.uri, t.alias, t.vars.role]);
    expect(targets).toEqual([
      ['primary.lab', '127.0.10.1', 'primary', 'primary'],
      ['replica.lab', '127.0.10.2', 'replica', 'replica'],
      ['agent1.lab', '127.0.10.3', 'agent1', 'agent'],
    ]);
  });

  it('reaches every host over real ssh with the lab key, checking host keys, under its own hostname', async () => {
    for (const h of lab.hosts) {
      const out = await ssh(lab, h.address, 'hostname -f; echo "$SSH_CONNECTION"');
      expect(out.exitCode).toBe(0);
      const [name, connection] = out.stdout.trim().split('\n');
      expect(name).toBe(h.fqdn);
      expect(connection?.split(' ')[2]).toBe(h.address);
    }
    // Host to host, leaving from the host's own address.
    const hop = await ssh(lab, '127.0.10.1', 'ssh -o BatchMode=yes replica.lab \'echo "$(hostname) $SSH_CLIENT"\'');
    expect(hop.stdout.trim()).toMatch(/^replica\.lab 127\.0\.10\.1 \d+ 22$/);
  });

  it('refuses password logins', async () => {
    const out = await runCommand([
      'ssh',
      '-o',
      `UserKnownHostsFile=${lab.knownHosts}`,
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      'BatchMode=yes',
      'root@127.0.10.2',
      'true',
    ]);
    expect(out.exitCode).toBe(255);
    expect(out.stderr).toContain('Permission denied');
  });

  it('reports primary services up and the replica not yet a server', async () => {
    const status = await labStatus({ dir: TEST_LAB_DIR });
    expect(status.healthy).toBe(true);
    expect(status.inventory).toBe(lab.inventory);
    const primary = status.hosts.find((h) => h.name === 'primary');
    const replica = status.hosts.find((h) => h.name === 'replica');
    for (const name of ['sshd', 'postgresql', 'puppetdb', 'puppetserver'] as const) {
      const s = primary?.services.find((x) => x.name === name);
      expect(s?.state).toBe('up');
      // The pid is the controller's view of the service's own process.
      expect(readFileSync(`/proc/${String(s?.pid)}/cmdline`, 'utf8')).toMatch(
        name === 'postgresql' ? /postgres/ : name === 'sshd' ? /sshd/ : /java/,
      );
    }
    expect(replica?.services.filter((s) => s.state === 'up').map((s) => s.name)).toEqual(['sshd']);
    // The lab gives the replica no CA of its own; suites that ran before this one may have
    // synced the primary's CA there, which is then the very same CA certificate.
    const replicaCa = await labExec('replica', ['cat', '/etc/puppet/puppetserver/ca/ca_crt.pem'], {
      dir: TEST_LAB_DIR,
    });
    if (replicaCa.exitCode === 0) {
      const primaryCa = await labExec('primary', ['cat', '/etc/puppet/puppetserver/ca/ca_crt.pem'], {
        dir: TEST_LAB_DIR,
      });
      expect(replicaCa.stdout).toBe(primaryCa.stdout);
    }
  });

  it("gives the service shim systemctl's (LSB) exit codes", async () => {
    const run = (host: string, ...args: string[]): Promise<number | null> =>
      labExec(host, ['pef-lab-service', ...args], { dir: TEST_LAB_DIR }).then((o) => o.exitCode);
    expect(await run('primary', 'status', 'puppetserver')).toBe(0);
    expect(await run('replica', 'status', 'puppetserver')).toBe(3);
    // A service the host does not have: status 4 (systemctl status of an unknown unit), other actions 5.
    expect(await run('replica', 'status', 'pe-puppetserver')).toBe(4);
    expect(await run('replica', 'start', 'pe-puppetserver')).toBe(5);
    expect(await run('replica', 'frobnicate', 'sshd')).toBe(2);
    expect(await run('agent1', 'start', 'postgresql')).toBe(0);
    expect(await run('agent1', 'status', 'postgresql')).toBe(0);
    expect(await run('agent1', 'stop', 'postgresql')).toBe(0);
    expect(await run('agent1', 'status', 'postgresql')).toBe(3);
  }, 60_000);

  it('runs the agent on agent1 against primary, which compiles its catalog', async () => {
    const out = await labExec('agent1', ['puppet', 'agent', '--test', '--color=false'], {
      dir: TEST_LAB_DIR,
      timeoutMs: 300_000,
    });
    expect([0, 2]).toContain(out.exitCode);
    expect(out.stdout).toContain('catalog compiled by primary.lab for agent1.lab');
  }, 300_000);

  it("has agent1's facts in primary's PuppetDB", async () => {
    const query = encodeURIComponent(JSON.stringify(['=', 'certname', 'agent1.lab']));
    const facts = (await (await fetch(`http://127.0.10.1:8080/pdb/query/v4/facts?query=${query}`)).json()) as {
      name: string;
      value: unknown;
    }[];
    const byName = new Map(facts.map((f) => [f.name, f.value]));
    expect(byName.get('pef_lab_address')).toBe('127.0.10.3');
    expect(byName.get('fqdn')).toBe('agent1.lab');
  });

  it("collects agent1's exported resource on primary", async () => {
    const run = await labExec('primary', ['puppet', 'agent', '--test', '--color=false'], {
      dir: TEST_LAB_DIR,
      timeoutMs: 300_000,
    });
    expect([0, 2]).toContain(run.exitCode);
    const file = await labExec('primary', ['cat', '/var/lib/pef-lab/nodes/agent1.lab'], { dir: TEST_LAB_DIR });
    expect(file.stdout).toBe('agent1.lab 127.0.10.3\n');
  }, 300_000);

  it("keeps a host's writes outside its private paths inside the host", async () => {
    const inside = await labExec('agent1', ['cat', '/etc/pef-lab-managed'], { dir: TEST_LAB_DIR });
    expect(inside.stdout).toBe('managed by primary.lab\n');
    expect(existsSync('/etc/pef-lab-managed')).toBe(false);
  });

  it('binds every lab daemon to its own host address and talks to nothing outside 127.0.0.0/8', async () => {
    const { listening, outside } = await labSockets(TEST_LAB_DIR);
    expect(listening.length).toBeGreaterThanOrEqual(7);
    for (const s of listening) expect(s.address).toBe(s.own);
    expect(outside).toEqual([]);
  });

  it('finds the healthy lab on a second up and leaves it as it is', async () => {
    const again = await labUp({ dir: TEST_LAB_DIR, agents: 1 });
    expect(again.reused).toBe(true);
    expect(again.hosts.map((h) => h.initPid)).toEqual(lab.hosts.map((h) => h.initPid));
  });

  it('goes down leaving no process, socket, mount or file', async () => {
    const namespaces = labNamespaces(lab);
    expect(namespaces).toHaveLength(3);
    await labDown({ dir: TEST_LAB_DIR });
    await releaseTestLab({ force: true });
    expect(await labLeftovers(lab, namespaces, '127.0.10')).toEqual({
      processes: [],
      holders: [],
      listeners: [],
      mounts: [],
    });
    expect(existsSync(lab.dir)).toBe(false);
  }, 60_000);
});
