/**
 * discover and service against the lab's real hosts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { HostFacts } from '../../../src/host/discover.js';
import { discover } from '../../../tasks/discover.js';
import { service } from '../../../tasks/service.js';
import { labExec } from '../../../src/lab/lab-exec.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

let runner: TaskRunner;

beforeAll(async () => {
  runner = await taskRunner((await ensureLab()).inventory);
}, 600_000);
afterAll(async () => runner?.close());

describe('discover', () => {
  it('reads the Debian layout and running services of the primary from the host', async () => {
    const set = await runner.task(discover, 'primary');
    const facts = set.find('primary.lab')?.value as unknown as HostFacts;
    expect(set.ok).toBe(true);
    expect(facts).toMatchObject({
      flavor: 'oss',
      certname: 'primary.lab',
      serviceManager: 'lab',
      hasCa: true,
      paths: { confdir: '/etc/puppet', ssldir: '/var/lib/puppet/ssl', cadir: '/etc/puppet/puppetserver/ca' },
    });
    expect(facts.dnsAltNames).toEqual(expect.arrayContaining(['puppet.lab']));
    expect(facts.versions.agent).toMatch(/^7\./);
    expect(facts.services.find((s) => s.name === 'puppetserver')).toEqual({
      name: 'puppetserver',
      present: true,
      running: true,
    });
    expect(facts.postgres.databases).toEqual(expect.arrayContaining(['puppetdb']));
    expect(set.find('primary.lab')?.changed).toBe(false);
  });

  it("reads the replica's certname, and whether it holds a CA copy yet, from the host", async () => {
    const facts = (await runner.task(discover, 'replica')).find('replica.lab')?.value as unknown as HostFacts;
    expect(facts.certname).toBe('replica.lab');
    // Other suites may have synced the CA already: compare with the file itself.
    const caFile = await labExec('replica', ['test', '-f', '/etc/puppet/puppetserver/ca/ca_crt.pem'], {
      dir: TEST_LAB_DIR,
    });
    expect(facts.hasCa).toBe(caFile.exitCode === 0);
    expect(facts.services.find((s) => s.name === 'puppetserver')?.present).toBe(true);
  });
});

describe('service', () => {
  it('starts, reports and stops a service idempotently, in noop changing nothing', async () => {
    const run = async (action: string, noop = false) =>
      (await runner.task(service, 'replica', { action, services: ['postgresql'] }, { noop })).find('replica.lab')!;
    // Whatever an earlier suite left, begin from "stopped".
    await run('stop');
    const preview = await run('start', true);
    expect(preview.changed).toBe(true);
    expect(preview.noop?.wouldRun).toEqual(['pef-lab-service start postgresql']);
    expect((await run('status')).value['running']).toEqual({ postgresql: false });
    const started = await run('start');
    expect(started).toMatchObject({ status: 'success', changed: true });
    expect((await run('status')).value['running']).toEqual({ postgresql: true });
    expect((await run('start')).changed).toBe(false);
    expect((await run('stop')).changed).toBe(true);
    expect((await run('status')).value['running']).toEqual({ postgresql: false });
  }, 120_000);
});
