/**
 * The CA job's shared ssh connection, for real against a local sshd: a pass's two rsyncs make one
 * TCP connection, the connection holds none of the job's files (its lock fd), it is gone once
 * stopped, and without it the rsyncs connect on their own.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  rsyncToReceiver,
  transferMasterStart,
  transferMasterStop,
  type TransferSettings,
} from '../../../src/puppet/transfer.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

let sshd: Sshd;
let root: string;
let transfer: TransferSettings;

beforeAll(async () => {
  sshd = await startSshd({ addresses: ['127.0.23.1'] });
  root = mkdtempSync(join(tmpdir(), 'pef-master-'));
  const sender = join(root, 'sender');
  mkdirSync(sender, { mode: 0o700 });
  copyFileSync(sshd.privateKeyPath, join(sender, 'id_ed25519'));
  chmodSync(join(sender, 'id_ed25519'), 0o600);
  copyFileSync(sshd.knownHostsFile, join(sender, 'known_hosts'));
  transfer = { user: sshd.user, home: root, senderDir: sender, host: sshd.host, port: sshd.port };
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'src', 'a.pem'), 'A');
  mkdirSync(join(root, 'ready'));
  writeFileSync(join(root, 'ready', 'digest'), 'D');
});

afterAll(async () => {
  await sshd.stop();
  rmSync(root, { recursive: true, force: true });
});

// A pass as the job runs it: the lock on fd 9, $tmp exported, the master, two rsyncs, then (after
// `between`) the stop. Prints what the checks need.
function pass(controlPath: string, between: string): { status: number | null; stdout: string; stderr: string } {
  const lock = join(root, 'job.lock');
  const shared = { controlPath };
  const script = [
    'set -eu',
    `exec 9>'${lock}'`,
    'flock -n 9',
    `tmp=$(mktemp -d '${root}/job.XXXXXX')`,
    'export tmp',
    transferMasterStart(transfer, controlPath),
    rsyncToReceiver(transfer, join(root, 'src'), join(root, 'staged'), shared),
    rsyncToReceiver(transfer, join(root, 'ready'), join(root, 'ready-delivered'), shared),
    between,
    transferMasterStop(transfer, controlPath),
    `ssh -o ControlPath=${controlPath} -O check x 2>/dev/null && echo still-there || echo gone`,
  ].join('\n');
  const run = spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('transferMasterStart / transferMasterStop', () => {
  it('one connection for both rsyncs, not holding the lock fd, gone after the stop', async () => {
    const before = await sshd.connectionCount();
    // With the job's fd 9 closed in this shell, only the master could still hold the lock.
    const run = pass('${tmp}/cm', `exec 9>&-; flock -n '${join(root, 'job.lock')}' true && echo lock-free`);
    expect(run).toMatchObject({ status: 0 });
    expect(run.stdout).toBe('lock-free\ngone\n');
    expect(await sshd.connectionCount()).toBe(before + 1);
    expect(readFileSync(join(root, 'staged', 'a.pem'), 'utf8')).toBe('A');
    expect(readFileSync(join(root, 'ready-delivered', 'digest'), 'utf8')).toBe('D');
  });

  it('without a master (its socket cannot be made) the rsyncs connect on their own', async () => {
    rmSync(join(root, 'staged'), { recursive: true, force: true });
    const before = await sshd.connectionCount();
    const run = pass('${tmp}/missing-dir/cm', 'true');
    expect(run).toMatchObject({ status: 0, stdout: 'gone\n' });
    // Each rsync made its own connection (the failed master may have connected before giving up).
    expect(await sshd.connectionCount()).toBeGreaterThanOrEqual(before + 2);
    expect(existsSync(join(root, 'staged', 'a.pem'))).toBe(true);
  });
});
