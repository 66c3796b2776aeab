/**
 * The CA's continuous replication on a large CA (issue: "with a 10 000-certificate CA, a pass that
 * carries one new certificate moves < 100 KiB and takes < 2 s"). No Puppet is needed for this
 * part: a pass only moves files. The bench builds a CA-shaped directory (N signed certificates of
 * a real certificate's size, inventory.txt, serial, CRL, key), then times the host-side jobs'
 * steps, from the same builders the jobs are generated from (src/replication/ca-job.ts):
 *
 *   send:    CA digest, rsync into the staging dir over ssh, digest again,
 *            the ready file delivered by a second rsync;
 *   receive: the receiver's own CA digest, installCaCommand(incremental): copy, key, owner,
 *            digest check, atomic swap.
 *
 * Both "hosts" are this machine (the rsync goes through the bench's sshd on loopback), so the
 * figures are the steps' own cost without the jobs' trigger latency (the lab's shim polls every
 * 0.2 s; systemd's path units react to inotify). Baseline, in the same run: the same pass when the
 * staging dir is empty, i.e. when it has to move the whole CA (a first sync).
 *
 * Bytes are what went over the wire for the CA's rsync: ssh's own count ("Transferred: sent N",
 * logged with -v through a wrapper first in PATH), after ssh compression; rsync's `--stats`
 * count (what the jobs log) is taken before compression and is shown beside it.
 */
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caDigestCommand, installCaCommand } from '../src/puppet/ca-dir.js';
import { rsyncToReceiver, type TransferSettings } from '../src/puppet/transfer.js';
import type { Sshd } from '../test/helpers/sshd.js';
import type { Cleanup } from './cleanup.js';
import { summarize } from './stats.js';
import { timedSpawn } from './timed-spawn.js';
import type { Row } from './report.js';

/** How big a CA and how many passes of each kind. */
export interface CaPassOptions {
  certs: number;
  passes: number;
}

// A 2048-bit certificate in PEM is about 1.9 KiB; random base64 of that size does not compress
// or delta any better than a real one.
const CERT_BYTES = 1400;

function pem(): string {
  const body = randomBytes(CERT_BYTES)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

function inventoryLine(serial: number, name: string): string {
  return `0x${serial.toString(16).toUpperCase().padStart(4, '0')} 2026-01-01T00:00:00UTC 2031-01-01T00:00:00UTC /CN=${name}\n`;
}

/** A CA-shaped directory with `certs` signed certificates. */
function makeCa(dir: string, certs: number): void {
  mkdirSync(join(dir, 'signed'), { recursive: true });
  const lines: string[] = [];
  for (let i = 1; i <= certs; i++) {
    writeFileSync(join(dir, 'signed', `node${i}.example.pem`), pem());
    lines.push(inventoryLine(i, `node${i}.example`));
  }
  writeFileSync(join(dir, 'inventory.txt'), lines.join(''));
  writeFileSync(join(dir, 'serial'), `${(certs + 1).toString(16).toUpperCase()}\n`);
  for (const f of ['ca_crt.pem', 'ca_crl.pem', 'ca_pub.pem']) writeFileSync(join(dir, f), pem());
  writeFileSync(join(dir, 'ca_key.pem'), pem());
  chmodSync(join(dir, 'ca_key.pem'), 0o640);
}

/** Times one-certificate passes against whole-CA passes; see the file comment. */
export async function benchCaPass(cleanup: Cleanup, sshd: Sshd, options: CaPassOptions): Promise<Row[]> {
  const root = mkdtempSync(join(tmpdir(), 'pef-bench-ca-'));
  cleanup.add('ca bench dir', () => Promise.resolve(rmSync(root, { recursive: true, force: true })));
  const primary = join(root, 'primary', 'ca');
  const replica = join(root, 'replica', 'ca');
  const sender = join(root, 'sender');
  mkdirSync(sender, { mode: 0o700 });
  copyFileSync(sshd.privateKeyPath, join(sender, 'id_ed25519'));
  chmodSync(join(sender, 'id_ed25519'), 0o600);
  copyFileSync(sshd.knownHostsFile, join(sender, 'known_hosts'));
  // The bench's sshd logs in as root; the staging dir is an absolute path instead of incoming/.
  const transfer: TransferSettings = {
    user: sshd.user,
    home: root,
    senderDir: sender,
    host: sshd.host,
    port: sshd.port,
  };
  // `ssh` as rsync runs it, logging ssh's byte counts to $PEF_BENCH_SSH_LOG.
  const bin = join(root, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'ssh'), '#!/bin/sh\nexec /usr/bin/ssh -v -E "$PEF_BENCH_SSH_LOG" "$@"\n', { mode: 0o755 });
  const sshLog = join(root, 'ssh.log');
  const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, PEF_BENCH_SSH_LOG: sshLog };
  const stage = join(root, 'stage');
  const readyDir = join(root, 'ready');
  mkdirSync(readyDir);

  makeCa(primary, options.certs);
  mkdirSync(join(root, 'replica'));
  const sh = async (command: string): Promise<string> => {
    const run = await timedSpawn(cleanup, 'sh', ['-c', command], { timeoutMs: 300_000, env });
    if (run.code !== 0) throw new Error(`ca pass: ${command.slice(0, 120)}… exited ${run.code}: ${run.stderr.trim()}`);
    return run.stdout;
  };
  await sh(`cp -a '${primary}' '${replica}'`);

  // Where a one-certificate pass spends its time, step by step (ms per pass).
  const bySteps = new Map<string, number[]>();
  const pass = async (record: boolean): Promise<{ ms: number; bytes: number; rsyncBytes: number }> => {
    const step = async (name: string, command: string): Promise<string> => {
      const t = performance.now();
      const out = await sh(command);
      if (record) bySteps.set(name, [...(bySteps.get(name) ?? []), performance.now() - t]);
      return out;
    };
    rmSync(sshLog, { force: true });
    const t0 = performance.now();
    const want = (await step('digest', caDigestCommand(primary))).trim();
    const stats = await step(
      'rsync',
      rsyncToReceiver(transfer, primary, stage, { exclude: ['/ca_key.pem'], stats: true, compress: true }),
    );
    // The CA rsync's own ssh logged its byte count when it exited.
    const wire = readFileSync(sshLog, 'utf8');
    if ((await step('digest again', caDigestCommand(primary))).trim() !== want)
      throw new Error('ca pass: the CA changed during the bench');
    writeFileSync(join(readyDir, 'digest'), `${want}\n`);
    await step('ready file', rsyncToReceiver(transfer, readyDir, join(root, 'ready-delivered')));
    const have = (await step("receiver's digest", caDigestCommand(replica))).trim();
    if (have !== want)
      await step('install', installCaCommand(stage, replica, 'root:root', want, { incremental: true }));
    const ms = performance.now() - t0;
    const rsyncBytes = Number(/^Total bytes sent: ([\d,]+)/m.exec(stats)?.[1]?.replace(/,/g, '') ?? Number.NaN);
    const bytes = Number(/Transferred: sent (\d+)/.exec(wire)?.[1] ?? Number.NaN);
    if ((await sh(caDigestCommand(replica))).trim() !== want)
      throw new Error('ca pass: the replica does not hold the CA');
    return { ms, bytes, rsyncBytes };
  };

  const full: number[] = [];
  const fullBytes: number[] = [];
  const one: number[] = [];
  const oneBytes: number[] = [];
  const rsyncBytes: number[] = [];
  let serial = options.certs + 1;
  const sign = (): void => {
    const name = `new${serial}.example`;
    writeFileSync(join(primary, 'signed', `${name}.pem`), pem());
    appendFileSync(join(primary, 'inventory.txt'), inventoryLine(serial, name));
    serial++;
    writeFileSync(join(primary, 'serial'), `${serial.toString(16).toUpperCase()}\n`);
  };
  for (let i = 0; i < options.passes; i++) {
    // Whole CA: an empty staging dir, as on the first sync.
    rmSync(stage, { recursive: true, force: true });
    sign();
    const f = await pass(false);
    full.push(f.ms);
    fullBytes.push(f.bytes);
    sign();
    const o = await pass(true);
    one.push(o.ms);
    oneBytes.push(o.bytes);
    rsyncBytes.push(o.rsyncBytes);
  }
  const fullStats = summarize(full);
  const oneStats = summarize(one);
  const kib = (b: number[]) => (summarize(b).median / 1024).toFixed(1);
  const oneKib = summarize(oneBytes).median / 1024;
  const label = `${options.certs.toLocaleString('en')}-certificate CA`;
  return [
    {
      section: 'ca pass',
      label: `whole CA moved (empty staging dir), ${label}`,
      stats: fullStats,
      note: `whole-CA pass: ${kib(fullBytes)} KiB sent (median)`,
    },
    {
      section: 'ca pass',
      label: `one new certificate, ${label}`,
      stats: oneStats,
      ratio: `${((oneStats.median / fullStats.median) * 100).toFixed(0)}% of the whole-CA pass`,
      goal: { text: '< 2 s and < 100 KiB', met: oneStats.median < 2000 && oneKib < 100 },
      note:
        `one-certificate pass: ${oneKib.toFixed(1)} KiB sent (median; ${kib(rsyncBytes)} KiB before ssh compression); ` +
        `by step (median ms): ${[...bySteps].map(([name, ms]) => `${name} ${summarize(ms).median.toFixed(0)}`).join(', ')}`,
    },
  ];
}
