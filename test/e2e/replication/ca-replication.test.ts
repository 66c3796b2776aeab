/**
 * The CA's continuous replication on the hosts (install_replication): once installed, with no pef
 * process running, a certificate signed or revoked on the primary reaches the replica's cadir
 * within seconds; the kill-switch stops it (recorded as skipped); a failing pass records
 * result=failure and keeps last_success; `enabled=false` removes the jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { KILL_SWITCH_FILE, MODE_FILE } from '../../../src/puppet/mode.js';
import { parseJobState, type JobState } from '../../../src/replication/job-state.js';
import { installReplication } from '../../../tasks/install-replication.js';
import { setMode } from '../../../tasks/set-mode.js';
import { setupTransfer } from '../../../tasks/setup-transfer.js';
import { syncCa } from '../../../tasks/sync-ca.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

let runner: TaskRunner;
const CADIR = '/etc/puppet/puppetserver/ca';
const on = async (host: string, script: string) => labExec(host, ['sh', '-c', script], { dir: TEST_LAB_DIR });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stateOf = async (host: string, job: string): Promise<JobState | null> =>
  parseJobState((await on(host, `cat /var/lib/pef/state/${job}.state 2>/dev/null || true`)).stdout);
const sign = async (certname: string) => {
  const out = await on('primary', `puppetserver ca generate --certname ${certname} 2>&1`);
  expect(out.stdout).toMatch(/Successfully saved certificate|Generated certificate/i);
};
// Milliseconds until `test` (a shell condition) holds on the replica, or -1 after `limitMs`.
async function waitOnReplica(test: string, limitMs: number): Promise<number> {
  const out = await on(
    'replica',
    `s=$(date +%s%3N); while ! { ${test}; } 2>/dev/null; do [ $(($(date +%s%3N) - s)) -lt ${limitMs} ] || { echo -1; exit 0; }; sleep 0.05; done; echo $(($(date +%s%3N) - s))`,
  );
  return Number(out.stdout.trim());
}
const same = (file: string) => `[ "$(sha256sum < ${CADIR}/${file})" = "$(cat /root/pef-e2e-want)" ]`;
async function primaryHashTo(file: string): Promise<void> {
  const h = (await on('primary', `sha256sum < ${CADIR}/${file}`)).stdout.trim();
  await on('replica', `printf '%s' '${h}' > /root/pef-e2e-want`);
}

beforeAll(async () => {
  runner = await taskRunner((await ensureLab()).inventory);
  // State and logs of an earlier run of this suite on a kept lab would be read as this run's.
  for (const host of ['primary', 'replica']) await on(host, 'rm -rf /var/lib/pef/state /var/log/pef-replication.log');
  const transfer = (await runner.task(setupTransfer, 'primary', { receiver: 'replica' })).find('primary.lab')!;
  expect(transfer.error).toBeUndefined();
  const ca = (await runner.task(syncCa, 'primary', { receiver: 'replica', replica_cert: false })).find('primary.lab')!;
  expect(ca.error).toBeUndefined();
}, 600_000);
afterAll(async () => {
  await on('replica', 'rm -f /etc/pef/replication.disabled /root/pef-e2e-want');
  await runner?.task(installReplication, 'primary', { receiver: 'replica', enabled: false });
  await runner?.close();
}, 120_000);

describe('install_replication', () => {
  it('installs the jobs under the lab shim, and a second run changes nothing', async () => {
    const first = (await runner.task(installReplication, 'primary', { receiver: 'replica', interval_s: 10 })).find(
      'primary.lab',
    )!;
    expect(first.error).toBeUndefined();
    expect(first.changed).toBe(true);
    for (const host of ['primary', 'replica']) {
      expect((await on(host, 'pef-lab-service status pef-replication')).exitCode).toBe(0);
      expect((await on(host, 'pef-lab-service is-enabled pef-replication')).exitCode).toBe(0);
    }
    expect((await on('primary', 'stat -c "%U %a" /usr/local/sbin/pef-job-sync_ca')).stdout.trim()).toBe('root 700');
    const again = (await runner.task(installReplication, 'primary', { receiver: 'replica', interval_s: 10 })).find(
      'primary.lab',
    )!;
    expect(again).toMatchObject({ status: 'success', changed: false });
  }, 120_000);
});

describe('with no pef process running', () => {
  // The target is p50 <= 2 s, p95 <= 5 s; the bound asserted here leaves room for a CI
  // machine whose JVMs keep both cores busy (each fork then costs 50-200 ms); the figures are printed.
  it('a certificate signed on the primary is in the replica cadir within seconds (signed/, inventory, serial)', async () => {
    const delays: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const name = `rep${i}-${Date.now()}.lab`;
      await sign(name);
      delays.push(await waitOnReplica(`[ -f ${CADIR}/signed/${name}.pem ]`, 15_000));
    }
    expect(delays.every((d) => d >= 0)).toBe(true);
    const sorted = [...delays].sort((a, b) => a - b);
    process.stderr.write(
      `ca rpo over ${delays.length} signings (ms after the CLI returned): p50 ${sorted[4]} p95 ${sorted[9]} all ${delays.join(' ')}\n`,
    );
    for (const file of ['inventory.txt', 'serial']) {
      await primaryHashTo(file);
      expect(await waitOnReplica(same(file), 15_000)).toBeGreaterThanOrEqual(0);
    }
    const sent = await stateOf('primary', 'sync_ca');
    expect(sent).toMatchObject({ job: 'sync_ca', kind: 'ca', role: 'send', result: 'success', intervalS: 10 });
    // Incremental: a one-certificate pass moves a few KiB, not the whole CA.
    const passes = [...(await on('primary', 'cat /var/log/pef-replication.log')).stdout.matchAll(/\((\d+) bytes\)/g)];
    expect(passes.length).toBeGreaterThan(0);
    for (const m of passes.slice(1)) expect(Number(m[1])).toBeLessThan(100 * 1024);
    expect(await stateOf('replica', 'receive_ca')).toMatchObject({ role: 'receive', result: 'success' });
    const log = await on('replica', 'cat /var/log/pef-replication.log');
    expect(log.stdout).toMatch(/PEF: receive_ca \[SUCCESS\] CA [0-9a-f]{12} installed in /);
    // The staged copy never holds the CA key.
    expect((await on('replica', 'ls /var/lib/pef-transfer/incoming/ca/')).stdout).not.toContain('ca_key.pem');
  }, 300_000);

  it("a revocation shows in the replica's CRL within seconds", async () => {
    const name = `revoked-${Date.now()}.lab`;
    await sign(name);
    expect(await waitOnReplica(`[ -f ${CADIR}/signed/${name}.pem ]`, 15_000)).toBeGreaterThanOrEqual(0);
    expect((await on('primary', `puppetserver ca revoke --certname ${name} 2>&1`)).exitCode).toBe(0);
    await primaryHashTo('ca_crl.pem');
    expect(await waitOnReplica(same('ca_crl.pem'), 15_000)).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('the kill-switch on the replica stops the install (skipped, WARNING) until it is cleared', async () => {
    await on('replica', "printf 'reason=e2e\\n' > /etc/pef/replication.disabled");
    const name = `blocked-${Date.now()}.lab`;
    await sign(name);
    expect(await waitOnReplica(`[ -f ${CADIR}/signed/${name}.pem ]`, 8_000)).toBe(-1);
    const blocked = await stateOf('replica', 'receive_ca');
    expect(blocked?.result).toBe('skipped');
    expect((await on('replica', 'cat /var/log/pef-replication.log')).stdout).toMatch(
      /PEF: receive_ca \[WARNING\] pef: replication is switched off on .*: e2e/,
    );
    await on('replica', 'rm -f /etc/pef/replication.disabled');
    // The timer pass (interval 10 s) installs it.
    expect(await waitOnReplica(`[ -f ${CADIR}/signed/${name}.pem ]`, 25_000)).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('a failing pass records result=failure and keeps last_success; the next good pass recovers', async () => {
    // Run alone (-t), this test first needs one good pass.
    let before: JobState | null = null;
    for (let waited = 0; waited < 30_000 && !before?.lastSuccess; waited += 500) {
      await sleep(500);
      before = await stateOf('primary', 'sync_ca');
    }
    expect(before?.lastSuccess).toBeTruthy();
    await on('primary', 'mv /etc/pef/transfer/id_ed25519 /etc/pef/transfer/id_ed25519.e2e');
    try {
      await sign(`failing-${Date.now()}.lab`);
      let state: JobState | null = null;
      for (let waited = 0; waited < 30_000 && state?.result !== 'failure'; waited += 500) {
        await sleep(500);
        state = await stateOf('primary', 'sync_ca');
      }
      expect(state?.result).toBe('failure');
      // Kept from the last good pass (timer passes over an unchanged CA count as good ones).
      expect(state?.lastSuccess ?? '').not.toBe('');
      expect(state!.lastSuccess! >= before!.lastSuccess!).toBe(true);
      expect(state!.lastSuccess! < state!.lastFailure!).toBe(true);
      // Without its key the job cannot ask the replica's gate either: the fence check, first in
      // every pass, fails closed before any data is read or sent.
      expect(state?.error).toMatch(/^fence check: the peer's mode and epoch could not be read; nothing is sent/);
      expect((await on('primary', 'cat /var/log/pef-replication.log')).stdout).toContain('PEF: sync_ca [FAILURE]');
    } finally {
      await on('primary', 'mv /etc/pef/transfer/id_ed25519.e2e /etc/pef/transfer/id_ed25519');
    }
    let after: JobState | null = null;
    for (let waited = 0; waited < 30_000 && after?.result !== 'success'; waited += 500) {
      await sleep(500);
      after = await stateOf('primary', 'sync_ca');
    }
    expect(after?.result).toBe('success');
    expect(after?.error).toBeNull();
  }, 120_000);
});

describe('the fence check before every pass', () => {
  const forget =
    'rm -f /etc/pef/mode /etc/pef/epoch /etc/pef/replication.disabled /etc/facter/facts.d/pef_failover.yaml';
  const log = async () => (await on('primary', 'cat /var/log/pef-replication.log')).stdout;
  afterAll(async () => {
    await on('replica', forget);
    await on('primary', `${forget} ${CADIR}/signed/stale-*.lab.pem`);
    // The fence stopped the primary's Puppet Server; the next suites need it as they found it.
    if ((await on('primary', 'pef-lab-service status puppetserver')).exitCode !== 0)
      await labExec('primary', ['pef-lab-service', 'start', 'puppetserver'], { dir: TEST_LAB_DIR, timeoutMs: 600_000 });
  }, 900_000);

  it('a primary whose replica was promoted past it fences itself on its next pass and sends nothing', async () => {
    // The pair at epoch 1, then the replica promoted while the primary was away (epoch 2).
    for (const [host, mode, peer, epoch] of [
      ['primary', 'active', 'replica.lab', 1],
      ['replica', 'active', 'primary.lab', 2],
    ] as const) {
      const set = (await runner.task(setMode, host, { mode, peer, epoch })).find(`${host}.lab`)!;
      expect(set.error).toBeUndefined();
    }
    // The next timer pass (10 s) compares epochs first, and fences before it reads any data.
    let state: JobState | null = null;
    for (let waited = 0; waited < 30_000 && state?.result !== 'skipped'; waited += 500) {
      await sleep(500);
      state = await stateOf('primary', 'sync_ca');
    }
    expect(state).toMatchObject({ result: 'skipped' });
    expect(await log()).toMatch(/PEF: fence \[WARNING\] the peer is active with epoch 2, newer than this server's 1/);
    expect((await on('primary', `sed -n 's/^mode=//p' ${MODE_FILE}`)).stdout.trim()).toBe('fenced');
    expect((await on('primary', 'facter -p pef_failover_mode')).stdout.trim()).toBe('fenced');
    expect((await on('primary', `sed -n 's/^reason=//p' ${KILL_SWITCH_FILE}`)).stdout).toContain(
      'fenced by the sync_ca job',
    );
    expect((await on('primary', 'pef-lab-service status puppetserver')).exitCode).not.toBe(0);
    // A change in the fenced primary's cadir (its CA can no longer sign) goes nowhere, and the
    // next passes stay fenced (10 s timer).
    const name = `stale-${Date.now()}.lab`;
    await on('primary', `cp -p ${CADIR}/signed/agent1.lab.pem ${CADIR}/signed/${name}.pem`);
    expect(await waitOnReplica(`[ -f ${CADIR}/signed/${name}.pem ]`, 12_000)).toBe(-1);
    const later = await stateOf('primary', 'sync_ca');
    expect(later).toMatchObject({ result: 'skipped' });
    expect((later?.lastRun ?? '') > (state?.lastRun ?? '')).toBe(true);
    // Fenced passes log nothing more: the one WARNING, and no pass sent anything after it.
    const after = (await log()).split(/PEF: fence \[WARNING\]/);
    expect(after).toHaveLength(2);
    expect(after[1]).not.toMatch(/PEF: sync_ca \[SUCCESS\]/);
    expect((await on('primary', 'pef-lab-service status puppetserver')).exitCode).not.toBe(0);
  }, 180_000);
});

describe('install_replication enabled=false', () => {
  it('stops and removes the jobs on both hosts', async () => {
    const off = (await runner.task(installReplication, 'primary', { receiver: 'replica', enabled: false })).find(
      'primary.lab',
    )!;
    expect(off).toMatchObject({ status: 'success', changed: true });
    for (const host of ['primary', 'replica']) {
      expect((await on(host, 'pef-lab-service status pef-replication')).exitCode).not.toBe(0);
      expect((await on(host, 'ls /etc/pef/jobs /usr/local/sbin | grep -c pef-job || true')).stdout.trim()).toBe('0');
    }
  }, 120_000);
});
