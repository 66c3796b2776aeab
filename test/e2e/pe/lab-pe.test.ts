/**
 * The lab's `pe` profile, end to end: real Puppet Server, PuppetDB and PostgreSQL laid out as
 * Puppet Enterprise (paths, pe-* services, pe-postgres, PE's databases, secrets), the labelled
 * stand-ins (classifier API with client-certificate auth, `puppet infrastructure`), an agent run
 * compiled by primary with its facts in primary's PuppetDB, and `lab down` leaving nothing.
 * Runs after the other PE suites (test/helpers/lab-test-sequencer.mjs): it takes the PE lab down.
 */
import { describe, it, expect, beforeAll } from '@jest/globals';
import { existsSync } from 'node:fs';
import {
  ensurePeLab,
  labSupported,
  releaseTestLab,
  PE_LAB_TIMEOUT_MS,
  TEST_PE_LAB_DIR,
  TEST_PE_LAB_PREFIX,
} from '../../helpers/lab.js';
import type { LabInfo } from '../../helpers/lab.js';
import { labExec } from '../../../src/lab/lab-exec.js';
import { labStatus } from '../../../src/lab/lab-status.js';
import { parseInfraStatus } from '../../../src/puppet/pe-infra-status.js';
import { labDown } from '../../../src/lab/lab-down.js';
import { labLeftovers, labNamespaces, labSockets } from '../../helpers/lab-leftovers.js';
import { taskRunner } from '../../helpers/task-runner.js';
import { discover } from '../../../tasks/discover.js';

const maybe = labSupported() ? describe : describe.skip;
const dir = TEST_PE_LAB_DIR;

async function sh(host: string, script: string): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return labExec(host, ['bash', '-c', script], { dir, timeoutMs: 300_000 });
}

// curl to the classifier stand-in with `host`'s own certificate (as pe_failover's scripts call it).
const classifierGet = (target: string): string =>
  `c=$(puppet config print certname); s=$(puppet config print ssldir); curl -sS -D - -o /tmp/groups.json -w '%{http_code}\\n' ` +
  `--cacert "$s/certs/ca.pem" --cert "$s/certs/$c.pem" --key "$s/private_keys/$c.pem" https://${target}:4433/classifier-api/v1/groups`;

maybe('pef lab (pe profile)', () => {
  let lab: LabInfo;

  beforeAll(async () => {
    lab = await ensurePeLab();
  }, PE_LAB_TIMEOUT_MS);

  it("reports PE's services by their PE names, healthy", async () => {
    const status = await labStatus({ dir });
    expect(status.healthy).toBe(true);
    expect(status.profile).toBe('pe');
    const up = (name: string): string[] =>
      status.hosts
        .find((h) => h.name === name)
        ?.services.filter((s) => s.state === 'up')
        .map((s) => s.name) ?? [];
    expect(up('primary')).toEqual(['sshd', 'pe-postgresql', 'pe-puppetdb', 'pe-puppetserver', 'pe-console-services']);
    expect(up('replica')).toEqual(['sshd', 'pe-postgresql', 'pe-console-services']);
    expect(up('agent1')).toEqual(['sshd']);
    // Debian's names are not services of a PE host: status answers 4 as systemctl does for an unknown unit,
    // and every other action 5 (LSB's "not installed", as `systemctl start` answers).
    expect((await labExec('primary', ['pef-lab-service', 'status', 'puppetserver'], { dir })).exitCode).toBe(4);
    expect((await labExec('primary', ['pef-lab-service', 'stop', 'puppetserver'], { dir })).exitCode).toBe(5);
  });

  it('is discovered as Puppet Enterprise, with PE paths, service names and databases', async () => {
    const runner = await taskRunner(lab.inventory);
    const result = await runner.task(discover, 'primary,agent1');
    const primary = result.find('primary.lab')?.value as
      { postgres?: { databases?: unknown }; services?: unknown } | undefined;
    const agent = result.find('agent1.lab')?.value;
    expect(primary).toMatchObject({
      flavor: 'pe',
      peVersion: expect.stringMatching(/^\d{4}\.\d+\.\d+$/),
      paths: {
        puppet: '/opt/puppetlabs/bin/puppet',
        confdir: '/etc/puppetlabs/puppet',
        ssldir: '/etc/puppetlabs/puppet/ssl',
        cadir: '/etc/puppetlabs/puppetserver/ca',
        codedir: '/etc/puppetlabs/code',
      },
      hasCa: true,
      postgres: { bin: '/opt/puppetlabs/server/bin', superuser: 'pe-postgres' },
    });
    expect(primary?.postgres?.databases).toEqual(
      expect.arrayContaining(['pe-activity', 'pe-classifier', 'pe-orchestrator', 'pe-puppetdb', 'pe-rbac']),
    );
    const running = (primary?.services as { name: string; running: boolean }[])
      .filter((s) => s.running)
      .map((s) => s.name);
    expect(running).toEqual(
      expect.arrayContaining(['pe-postgresql', 'pe-puppetdb', 'pe-puppetserver', 'pe-console-services']),
    );
    // Agents are AIO agents: PE paths, but no PE server on them.
    expect(agent).toMatchObject({
      flavor: 'oss',
      paths: { confdir: '/etc/puppetlabs/puppet', ssldir: '/etc/puppetlabs/puppet/ssl' },
    });
    await runner.close();
  });

  it('keeps PE databases owned by pe-postgres in real PostgreSQL, each naming the host that made it', async () => {
    // pe-activity: the PE suites that run before this one restore pe-rbac on the replica.
    for (const host of ['primary', 'replica']) {
      const out = await sh(
        host,
        `runuser -u pe-postgres -- /opt/puppetlabs/server/bin/psql -X -d pe-activity -Atc "select host from pef_lab_seed"`,
      );
      expect(out.stdout.trim()).toBe(`${host}.lab`);
    }
    const owner = await sh(
      'primary',
      `stat -c %U "$(runuser -u pe-postgres -- /opt/puppetlabs/server/bin/psql -X -d postgres -Atc 'show data_directory')"`,
    );
    expect(owner.stdout.trim()).toBe('pe-postgres');
  });

  it("has PE's secrets with PE's owners and modes", async () => {
    const files = [
      '/etc/puppetlabs/orchestration-services/conf.d/secrets/keys.json',
      '/etc/puppetlabs/orchestration-services/conf.d/secrets/orchestrator-encryption-keys.json',
      '/etc/puppetlabs/console-services/conf.d/secrets/keys.json',
    ];
    const stat = await sh('primary', `stat -c '%U:%G %a' ${files.join(' ')}`);
    expect(stat.stdout.trim().split('\n')).toEqual([
      'pe-orchestration-services:pe-orchestration-services 640',
      'pe-orchestration-services:pe-orchestration-services 640',
      'pe-console-services:pe-console-services 640',
    ]);
    expect(JSON.parse((await sh('primary', `cat ${files[0]!}`)).stdout)).toEqual([
      expect.objectContaining({ key: expect.any(String) }),
    ]);
  });

  it('serves the classifier stand-in to allowed certificates only, labelled as a stand-in', async () => {
    const ok = await sh('replica', classifierGet('primary.lab'));
    expect(ok.stdout.trim().split('\n').at(-1)).toBe('200');
    expect(ok.stdout.toLowerCase()).toContain('x-pef-standin: classifier');
    const groups = JSON.parse((await sh('replica', 'cat /tmp/groups.json')).stdout) as { name: string }[];
    expect(groups.map((g) => g.name)).toContain('All Nodes');
    // agent1's certificate is signed by the same CA but is not on the allow-list.
    const refused = await sh('agent1', classifierGet('primary.lab'));
    expect(refused.stdout.trim().split('\n').at(-1)).toBe('403');
  });

  it("answers `puppet infrastructure status` from the stand-in in PE's JSON, as one installation with primary.lab as primary", async () => {
    const out = await sh('replica', 'puppet infrastructure status --format json');
    expect(parseInfraStatus(out.stdout, 'replica')).toMatchObject({ primary: 'primary.lab', replicas: [] });
    expect((await sh('replica', 'tail -n 1 /var/log/pef-lab/pe-standin.log')).stdout).toContain(
      '"argv":["infrastructure","status","--format","json"]',
    );
  });

  it('runs the agent on agent1 against primary, which compiles its catalog, and stores its facts in PuppetDB', async () => {
    const run = await labExec('agent1', ['puppet', 'agent', '--test', '--color=false'], { dir, timeoutMs: 300_000 });
    expect([0, 2]).toContain(run.exitCode);
    expect(run.stdout).toContain('catalog compiled by primary.lab for agent1.lab');
    const query = encodeURIComponent(JSON.stringify(['=', 'certname', 'agent1.lab']));
    const facts = (await (
      await fetch(`http://${TEST_PE_LAB_PREFIX}.1:8080/pdb/query/v4/facts?query=${query}`)
    ).json()) as { name: string; value: unknown }[];
    expect(new Map(facts.map((f) => [f.name, f.value])).get('pef_lab_address')).toBe(`${TEST_PE_LAB_PREFIX}.3`);
  }, 300_000);

  it('binds every daemon, stand-ins included, to its own host address and talks to nothing outside 127.0.0.0/8', async () => {
    const { listening, outside } = await labSockets(dir);
    // sshd ×3, pe-postgresql ×2, the classifier ×2, PuppetDB (http, https), puppetserver.
    expect(listening.length).toBeGreaterThanOrEqual(10);
    for (const s of listening) expect(s.address).toBe(s.own);
    expect(outside).toEqual([]);
  });

  it('goes down leaving no process, socket, mount or file', async () => {
    const namespaces = labNamespaces(lab);
    expect(namespaces).toHaveLength(3);
    await labDown({ dir });
    await releaseTestLab();
    expect(await labLeftovers(lab, namespaces, TEST_PE_LAB_PREFIX)).toEqual({
      processes: [],
      holders: [],
      listeners: [],
      mounts: [],
    });
    expect(existsSync(lab.dir)).toBe(false);
  }, 60_000);
});
