/**
 * The flavor-aware tasks on the lab's `pe` profile, where paths, service names, the database
 * superuser and the databases are Puppet Enterprise's: service (pe-* names), pad_serial and
 * sync_ca on /etc/puppetlabs/puppetserver/ca owned by pe-puppet, dump_db/restore_db of pe-rbac
 * as pe-postgres with the consumers stopped and started again. Each second run reports no change.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { padSerial } from '../../../tasks/pad-serial.js';
import { service } from '../../../tasks/service.js';
import { setupTransfer } from '../../../tasks/setup-transfer.js';
import { syncCa } from '../../../tasks/sync-ca.js';
import { dumpDb } from '../../../tasks/dump-db.js';
import { restoreDb } from '../../../tasks/restore-db.js';
import { ensurePeLab, labSupported, PE_LAB_TIMEOUT_MS, TEST_PE_LAB_DIR } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

const maybe = labSupported() ? describe : describe.skip;
const PRIMARY = 'primary.lab';
const REPLICA = 'replica.lab';
const CADIR = '/etc/puppetlabs/puppetserver/ca';
const sh = async (host: string, script: string): Promise<string> => {
  const out = await labExec(host, ['bash', '-c', script], { dir: TEST_PE_LAB_DIR, timeoutMs: 300_000 });
  if (out.exitCode !== 0) throw new Error(`${host}: ${script} exited ${String(out.exitCode)}: ${out.stderr}`);
  return out.stdout.trim();
};
const seedHost = (host: string): Promise<string> =>
  sh(
    host,
    'runuser -u pe-postgres -- /opt/puppetlabs/server/bin/psql -X -d pe-rbac -Atc "select host from pef_lab_seed"',
  );
const running = async (host: string, svc: string): Promise<boolean> =>
  (await labExec(host, ['pef-lab-service', 'status', svc], { dir: TEST_PE_LAB_DIR })).exitCode === 0;

maybe('flavor-aware tasks on PE (lab profile pe)', () => {
  let runner: TaskRunner;

  beforeAll(async () => {
    runner = await taskRunner((await ensurePeLab()).inventory);
    // A pair without pef's modes, whatever an earlier suite (pe-dr's promotions) left.
    for (const host of ['primary', 'replica']) await sh(host, 'rm -f /etc/pef/mode /etc/pef/epoch');
  }, PE_LAB_TIMEOUT_MS);

  afterAll(async () => {
    await runner?.close();
  });

  it("stops and starts a service by PE's name, and a second start changes nothing", async () => {
    const run = async (action: string): Promise<boolean> =>
      (await runner.task(service, 'replica', { action, services: ['pe-console-services'] })).find(REPLICA)!.changed ===
      true;
    expect(await run('stop')).toBe(true);
    expect(await running('replica', 'pe-console-services')).toBe(false);
    expect(await run('start')).toBe(true);
    expect(await running('replica', 'pe-console-services')).toBe(true);
    expect(await run('start')).toBe(false);
  });

  it("pads the serial of PE's CA in /etc/puppetlabs/puppetserver/ca, once", async () => {
    const first = (await runner.task(padSerial, 'primary')).find(PRIMARY)!;
    expect(first.error).toBeUndefined();
    expect(parseInt(await sh('primary', `cat ${CADIR}/serial`), 16)).toBeGreaterThanOrEqual(0x186a0);
    expect((await runner.task(padSerial, 'primary')).find(PRIMARY)!.changed).toBe(false);
  });

  it("syncs PE's CA to the replica with pe-puppet ownership and issues the replica's certificate", async () => {
    expect((await runner.task(setupTransfer, 'primary', { receiver: 'replica' })).find(PRIMARY)!.error).toBeUndefined();
    const sync = (await runner.task(syncCa, 'primary', { receiver: 'replica' })).find(PRIMARY)!;
    expect(sync.error).toBeUndefined();
    expect(await sh('replica', `sha256sum < ${CADIR}/ca_crt.pem`)).toBe(
      await sh('primary', `sha256sum < ${CADIR}/ca_crt.pem`),
    );
    expect(await sh('replica', `stat -c %U:%G ${CADIR} ${CADIR}/ca_key.pem | sort -u`)).toBe(
      await sh('primary', `stat -c %U:%G ${CADIR} ${CADIR}/ca_key.pem | sort -u`),
    );
    const cert = await sh(
      'replica',
      'openssl x509 -noout -issuer -ext subjectAltName -in /etc/puppetlabs/puppet/ssl/certs/replica.lab.pem',
    );
    expect(cert).toContain('DNS:puppet.lab');
    expect((await runner.task(syncCa, 'primary', { receiver: 'replica' })).find(PRIMARY)!.changed).toBe(false);
  });

  it('dumps pe-rbac as pe-postgres and restores it on the replica, consumers running again', async () => {
    const dump = (await runner.task(dumpDb, 'primary', { receiver: 'replica' })).find(PRIMARY)!;
    expect(dump.error).toBeUndefined();
    expect((dump.value as { flavor: string; dumps: { database: string }[] }).dumps.map((d) => d.database)).toEqual([
      'pe-rbac',
    ]);
    const restore = (await runner.task(restoreDb, 'replica')).find(REPLICA)!;
    expect(restore.error).toBeUndefined();
    expect(restore.changed).toBe(true);
    expect(await seedHost('replica')).toBe(PRIMARY);
    expect(await running('replica', 'pe-console-services')).toBe(true);
    expect(await running('replica', 'pe-postgresql')).toBe(true);
    expect((await runner.task(restoreDb, 'replica')).find(REPLICA)!.changed).toBe(false);
  });
});
