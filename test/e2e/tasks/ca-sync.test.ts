/**
 * The CA path of a warm spare on real Puppet: the transfer channel, the CA copied to the replica
 * and verified, the replica's certificate from the shared CA, and the padded serial.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { isReplicationStateOutput, parseReplicationState, replicationStateCommand } from '../../../src/puppet/mode.js';
import { PEER_STATE_REQUEST, TRANSFER_GATE } from '../../../src/puppet/transfer.js';
import { padSerial, padSerialCommand } from '../../../tasks/pad-serial.js';
import { setupTransfer } from '../../../tasks/setup-transfer.js';
import { syncCa } from '../../../tasks/sync-ca.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

let runner: TaskRunner;
const CADIR = '/etc/puppet/puppetserver/ca';
const on = async (host: string, script: string) => labExec(host, ['sh', '-c', script], { dir: TEST_LAB_DIR });
const digestOf = async (host: string) =>
  (
    await on(
      host,
      'cd /etc/puppet/puppetserver/ca && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2 | sha256sum',
    )
  ).stdout;

beforeAll(async () => {
  runner = await taskRunner((await ensureLab()).inventory);
}, 600_000);
afterAll(async () => runner?.close());

describe('setup_transfer', () => {
  it('creates a user on the replica that can only rsync into its staging dir, and pins the host key', async () => {
    const first = (await runner.task(setupTransfer, 'primary', { receiver: 'replica' })).find('primary.lab')!;
    expect(first.error).toBeUndefined(); // shows the task's error message when it fails
    const keys = await on(
      'replica',
      'cat /var/lib/pef-transfer/.ssh/authorized_keys; stat -c "%U %a" /var/lib/pef-transfer/incoming',
    );
    // The key's forced command is the root-owned transfer gate, which hands data to rrsync -wo.
    expect(keys.stdout).toMatch(
      /^restrict,command="\/usr\/local\/sbin\/pef-transfer-gate" ssh-ed25519 \S+ pef-transfer@primary\.lab\n/,
    );
    expect(keys.stdout).toContain('pef-transfer 700');
    const gate = await on('replica', `stat -c '%U:%G %a' ${TRANSFER_GATE}; cat ${TRANSFER_GATE}`);
    expect(gate.stdout).toMatch(/^root:root 755\n/);
    expect(gate.stdout).toContain(`exec /usr/bin/rrsync -wo /var/lib/pef-transfer/incoming\n`);
    // The key is good for rsync into incoming/ and the read-only peer state, nothing else: no shell, no reading back.
    const ssh =
      'ssh -i /etc/pef/transfer/id_ed25519 -o UserKnownHostsFile=/etc/pef/transfer/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes pef-transfer@replica.lab';
    const shell = await on('primary', `${ssh} id`);
    expect(shell.stdout).not.toContain('uid=');
    const smuggled = await on('primary', `${ssh} '${PEER_STATE_REQUEST}; id'`);
    expect(smuggled.stdout).not.toContain('uid=');
    expect(isReplicationStateOutput(smuggled.stdout)).toBe(false);
    const state = await on('primary', `${ssh} ${PEER_STATE_REQUEST}`);
    expect(state.exitCode).toBe(0);
    expect(isReplicationStateOutput(state.stdout)).toBe(true);
    // What the gate answers is the receiver's own state, as read locally.
    const local = await on('replica', replicationStateCommand());
    expect(parseReplicationState(state.stdout)).toEqual(parseReplicationState(local.stdout));
    const read = await on(
      'primary',
      `rsync -e "${ssh.replace(/ pef-transfer@replica\.lab$/, '')}" pef-transfer@replica.lab:../.ssh/authorized_keys /tmp/x 2>&1`,
    );
    expect(read.exitCode).not.toBe(0);
    const second = (await runner.task(setupTransfer, 'primary', { receiver: 'replica' })).find('primary.lab')!;
    expect(second).toMatchObject({ status: 'success', changed: false });
  }, 120_000);
});

describe('sync_ca', () => {
  it('in noop lists the rsync and the swap, and copies nothing', async () => {
    const before = await digestOf('replica');
    const preview = (
      await runner.task(syncCa, 'primary', { receiver: 'replica', replica_cert: false }, { noop: true })
    ).find('primary.lab')!;
    expect(preview.status).toBe('success');
    if (preview.changed) {
      const wouldRun = preview.noop?.wouldRun ?? [];
      // Both under the host-side CA jobs' locks, so a task pass never overlaps a job's.
      expect(wouldRun.some((c) => c.includes('rsync -rlpt --delete') && c.includes('/run/pef/job-sync_ca.lock'))).toBe(
        true,
      );
      expect(
        wouldRun.some(
          (c) => c.startsWith('replica.lab: ') && c.includes('/run/pef/job-receive_ca.lock') && c.includes('set -e'),
        ),
      ).toBe(true);
    }
    expect(await digestOf('replica')).toBe(before);
  }, 120_000);

  it("copies the primary's CA to the replica, owned by puppet, and then reports no change", async () => {
    const first = (await runner.task(syncCa, 'primary', { receiver: 'replica', replica_cert: false })).find(
      'primary.lab',
    )!;
    expect(first.error).toBeUndefined(); // shows the task's error message when it fails
    expect(await digestOf('replica')).toBe(await digestOf('primary'));
    expect(
      (await on('replica', 'stat -c %U:%G /etc/puppet/puppetserver/ca /etc/puppet/puppetserver/ca/ca_key.pem')).stdout,
    ).toBe('puppet:puppet\npuppet:puppet\n');
    expect((await on('replica', 'ls -d /etc/puppet/puppetserver/ca.pef-* 2>/dev/null | wc -l')).stdout.trim()).toBe(
      '0',
    );
    const second = (await runner.task(syncCa, 'primary', { receiver: 'replica', replica_cert: false })).find(
      'primary.lab',
    )!;
    expect(second).toMatchObject({ status: 'success', changed: false });
  }, 120_000);

  it('gives the replica a certificate from the shared CA with puppet.lab and pp_cli_auth, recorded by the primary', async () => {
    // Padding first leaves the unused serials the replica's copy of the CA issues from.
    expect((await runner.task(padSerial, 'primary')).ok).toBe(true);
    const result = (await runner.task(syncCa, 'primary', { receiver: 'replica' })).find('primary.lab')!;
    expect(result.error).toBeUndefined(); // shows the task's error message when it fails
    const cert = await on(
      'replica',
      'c=/var/lib/puppet/ssl/certs/replica.lab.pem; openssl x509 -in $c -noout -issuer -serial && openssl x509 -in $c -noout -text',
    );
    expect(cert.stdout).toContain('issuer=CN = Puppet CA: primary.lab');
    expect(cert.stdout).toMatch(/DNS:replica\.lab, DNS:puppet\.lab|DNS:puppet\.lab, DNS:replica\.lab/);
    expect(cert.stdout).toContain('1.3.6.1.4.1.34380.1.3.39');
    const serial = /serial=([0-9A-F]+)/.exec(cert.stdout)?.[1] ?? '';
    expect(parseInt(serial, 16)).toBeLessThan(0x186a0);
    // The primary's CA knows it, under that serial, and the replica's copy is identical again.
    const inventory = (await on('primary', 'cat /etc/puppet/puppetserver/ca/inventory.txt')).stdout;
    expect(inventory).toMatch(new RegExp(`^0x0*${serial.replace(/^0+/, '')} \\S+ \\S+ /CN=replica\\.lab$`, 'mi'));
    expect(await digestOf('replica')).toBe(await digestOf('primary'));
    // The replica's key never left it, and its private key matches the certificate.
    const match = await on(
      'replica',
      'cd /var/lib/puppet/ssl && [ "$(openssl x509 -in certs/replica.lab.pem -noout -pubkey)" = "$(openssl pkey -in private_keys/replica.lab.pem -pubout)" ] && echo match',
    );
    expect(match.stdout.trim()).toBe('match');
    const again = (await runner.task(syncCa, 'primary', { receiver: 'replica' })).find('primary.lab')!;
    expect(again).toMatchObject({ status: 'success', changed: false });
  }, 300_000);
});

describe('the replication kill-switch', () => {
  it('makes sync_ca refuse before changing anything, on either end', async () => {
    await on('primary', 'echo x >> /etc/puppet/puppetserver/ca/pef-test-marker');
    try {
      for (const host of ['replica', 'primary']) {
        await on(host, 'mkdir -p /etc/pef && echo "test" > /etc/pef/replication.disabled');
        try {
          const before = await digestOf('replica');
          const refused = (await runner.task(syncCa, 'primary', { receiver: 'replica', replica_cert: false })).find(
            'primary.lab',
          )!;
          expect(refused.status).toBe('failure');
          expect(refused.error?.msg).toMatch(/sync_ca refused: .*Nothing was changed\./s);
          expect(await digestOf('replica')).toBe(before);
        } finally {
          await on(host, 'rm -f /etc/pef/replication.disabled');
        }
      }
    } finally {
      await on('primary', 'rm -f /etc/puppet/puppetserver/ca/pef-test-marker');
    }
    expect((await runner.task(syncCa, 'primary', { receiver: 'replica', replica_cert: false })).ok).toBe(true);
  }, 180_000);
});

describe('pad_serial', () => {
  it('raises the serial to 0x186A0 keeping its format, never lowers it, and the next sync carries it', async () => {
    const before = (await on('primary', 'cat /etc/puppet/puppetserver/ca/serial')).stdout;
    const preview = (await runner.task(padSerial, 'primary', {}, { noop: true })).find('primary.lab')!;
    expect((await on('primary', 'cat /etc/puppet/puppetserver/ca/serial')).stdout).toBe(before);
    if (parseInt(before, 16) < 0x186a0)
      expect((preview.noop?.wouldRun ?? [])[0]).toContain(padSerialCommand(`${CADIR}/serial`));
    const padded = (await runner.task(padSerial, 'primary')).find('primary.lab')!;
    expect(padded.error).toBeUndefined(); // shows the task's error message when it fails
    const after = (
      await on('primary', 'cat /etc/puppet/puppetserver/ca/serial; stat -c %U:%G /etc/puppet/puppetserver/ca/serial')
    ).stdout;
    expect(parseInt(after, 16)).toBeGreaterThanOrEqual(0x186a0);
    expect(after).toMatch(/puppet:puppet\n$/);
    expect((await runner.task(padSerial, 'primary', { minimum: '0x10' })).find('primary.lab')).toMatchObject({
      changed: false,
    });
    const synced = (await runner.task(syncCa, 'primary', { receiver: 'replica', replica_cert: false })).find(
      'primary.lab',
    )!;
    expect(synced.error).toBeUndefined(); // shows the task's error message when it fails
    expect(await digestOf('replica')).toBe(await digestOf('primary'));
  }, 180_000);

  it('refuses a host without a CA', async () => {
    const none = await runner.task(padSerial, 'agent1');
    expect(none.find('agent1.lab')?.error?.msg).toContain('has no CA');
  }, 60_000);
});

describe('hardening', () => {
  const victim = '/root/pef-test-victim';
  const plantVictim = async (host: string) =>
    on(host, `printf 'root secret\\n' > ${victim} && chmod 600 ${victim} && chown root:root ${victim}`);
  const victimState = async (host: string) => (await on(host, `cat ${victim}; stat -c '%U %a' ${victim}`)).stdout;

  it('pad_serial refuses a serial the puppet user made a symlink, and is not fooled by links at temp names', async () => {
    await plantVictim('primary');
    await on('primary', `cp -a ${CADIR}/serial /root/pef-test-serial`);
    try {
      // As the account that owns the cadir, as a compromised Puppet Server JVM would.
      const planted = await on(
        'primary',
        `su -s /bin/sh puppet -c 'ln -s ${victim} ${CADIR}/serial.pef-tmp && ln -s ${victim} ${CADIR}/f.pef-tmp && mv ${CADIR}/serial ${CADIR}/serial.moved && ln -s ${victim} ${CADIR}/serial'`,
      );
      expect(planted.exitCode).toBe(0);
      const refused = (await runner.task(padSerial, 'primary', { minimum: '0x200000' })).find('primary.lab')!;
      expect(refused.status).toBe('failure');
      expect(refused.error?.msg).toContain(`pef: refusing to read ${CADIR}/serial: it is a symbolic link`);
      // Refused before reading: the linked file's content is in no message.
      expect(JSON.stringify(refused)).not.toContain('root secret');
      expect(await victimState('primary')).toBe('root secret\nroot 600\n');
      // With the real serial back, the links at the temp names change nothing either.
      await on('primary', `rm ${CADIR}/serial && mv ${CADIR}/serial.moved ${CADIR}/serial`);
      const padded = (await runner.task(padSerial, 'primary', { minimum: '0x200000' })).find('primary.lab')!;
      expect(padded.error).toBeUndefined();
      expect(await victimState('primary')).toBe('root secret\nroot 600\n');
      expect((await on('primary', `stat -c %U:%G ${CADIR}/serial; find ${CADIR} -name '.pef-write*'`)).stdout).toBe(
        'puppet:puppet\n',
      );
    } finally {
      await on(
        'primary',
        `rm -f ${CADIR}/serial.pef-tmp ${CADIR}/f.pef-tmp ${victim}; [ -L ${CADIR}/serial ] && rm ${CADIR}/serial; [ -e ${CADIR}/serial.moved ] && mv ${CADIR}/serial.moved ${CADIR}/serial; true`,
      );
    }
  }, 180_000);

  it('refuses a receiver_host with shell metacharacters, writing nothing on the primary', async () => {
    const before = await digestOf('primary');
    const refused = (
      await runner.task(syncCa, 'primary', { receiver: 'replica', receiver_host: 'a;touch /tmp/pef-test-x' })
    ).find('primary.lab')!;
    expect(refused.error?.kind).toBe('pef/untrusted-value');
    expect(refused.error?.msg).toContain('parameter receiver_host "a;touch /tmp/pef-test-x" from the controller');
    expect(await digestOf('primary')).toBe(before);
    expect((await on('primary', 'ls /tmp/pef-test-x 2>&1 || true')).stdout).toContain('No such file');
  }, 120_000);

  // A failure injected into the certificate step is a unit test (test/unit/tasks/ca-tasks.test.ts):
  // on the lab, sync_ca's own CA copy replaces whatever is injected into the replica's cadir first.

  it("leaves no staged CA copy in the transfer user's incoming dir, and the user owns only incoming/", async () => {
    const state = await on(
      'replica',
      'ls /var/lib/pef-transfer/incoming; stat -c "%U:%G %a %n" /var/lib/pef-transfer /var/lib/pef-transfer/.ssh /var/lib/pef-transfer/.ssh/authorized_keys',
    );
    expect(state.stdout).not.toMatch(/^ca$/m);
    expect(state.stdout).toContain('root:root 755 /var/lib/pef-transfer\n');
    expect(state.stdout).toContain('root:pef-transfer 750 /var/lib/pef-transfer/.ssh\n');
    expect(state.stdout).toContain('root:pef-transfer 640 /var/lib/pef-transfer/.ssh/authorized_keys\n');
  }, 60_000);
});
