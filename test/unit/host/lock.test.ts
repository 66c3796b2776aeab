/**
 * Host locks, run for real with sh and flock in temp dirs: the lock held across commands
 * (restore_db) and the one held around a single command (a task step next to a replication job).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LOCK_TIMEOUT_EXIT,
  lockAcquireCommand,
  lockReleaseCommand,
  parseLock,
  withLockCommand,
} from '../../../src/host/lock.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pef-lock-'));
  dirs.push(dir);
  return dir;
}
const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8' });
const asRoot = process.getuid?.() === 0 ? it : it.skip;

describe('withLockCommand (run for real with flock)', () => {
  asRoot('runs the command under the lock, with its output and exit status', () => {
    const lock = join(tempDir(), 'run', 'job-x.lock');
    // Inside, the lock is taken: a second flock on it fails.
    const command = `echo out; echo err >&2; flock -n '${lock}' true || echo held; exit 3`;
    const r = sh(withLockCommand(lock, command, { waitS: 5, holder: 'job x' }));
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('out\nheld\n');
    expect(r.stderr).toBe('err\n');
    expect(statSync(join(lock, '..')).mode & 0o777).toBe(0o700);
  });

  asRoot('waits for a holder that lets go, and gives up on one that does not, running nothing', async () => {
    const dir = tempDir();
    const lock = join(dir, 'run', 'job-x.lock');
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    const ran = join(dir, 'ran');
    // A job pass holding the lock for 1.5 s, as the host-side job scripts take it (exec 9>, flock -n 9).
    const holder = spawn('sh', ['-c', `exec 9>'${lock}'; flock -n 9 && echo held && sleep 1.5`]);
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    const waited = sh(withLockCommand(lock, `touch '${ran}'`, { waitS: 10, holder: 'job x' }));
    expect(waited.status).toBe(0);
    expect(existsSync(ran)).toBe(true);
    rmSync(ran);

    const again = spawn('sh', ['-c', `exec 9>'${lock}'; flock -n 9 && echo held && sleep 5`]);
    try {
      await new Promise<void>((resolve) => again.stdout.once('data', () => resolve()));
      const gaveUp = sh(withLockCommand(lock, `touch '${ran}'`, { waitS: 1, holder: 'the receive_ca job is running' }));
      expect(gaveUp.status).toBe(LOCK_TIMEOUT_EXIT);
      expect(gaveUp.stderr).toContain(`${lock} stayed taken for 1 s (the receive_ca job is running); nothing was run`);
      expect(existsSync(ran)).toBe(false);
    } finally {
      again.kill();
    }
  });

  asRoot('refuses a lock directory that is a symlink, running nothing', () => {
    const base = tempDir();
    mkdirSync(join(base, 'elsewhere'));
    symlinkSync(join(base, 'elsewhere'), join(base, 'run'));
    const ran = join(base, 'ran');
    const r = sh(withLockCommand(join(base, 'run', 'job-x.lock'), `touch '${ran}'`, { waitS: 1, holder: 'x' }));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is a symlink; pef refuses to use it/);
    expect(existsSync(ran)).toBe(false);
    expect(existsSync(join(base, 'elsewhere', 'job-x.lock'))).toBe(false);
  });
});

describe('a lock held across commands (run for real with flock)', () => {
  it('is exclusive, names its holder, survives the command that took it, and is released by its owner only', () => {
    const lock = join(tempDir(), 'lock', 'restore.lock');
    const first = parseLock(sh(lockAcquireCommand(lock, 60, 'owner-a')).stdout);
    expect(first.locked).toBe(true);
    const pid = first.locked ? first.pid : 0;
    try {
      const second = parseLock(sh(lockAcquireCommand(lock, 60, 'owner-b')).stdout);
      expect(second).toEqual({
        locked: false,
        holder: expect.stringMatching(new RegExp(`^${pid} \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z owner-a$`)),
      });
      expect(sh(lockReleaseCommand(lock, 'owner-b')).status).toBe(0);
      expect(parseLock(sh(lockAcquireCommand(lock, 60, 'owner-c')).stdout).locked).toBe(false);
      expect(sh(lockReleaseCommand(lock, 'owner-a')).status).toBe(0);
      // The holder exits after the kill; the next acquire may race it, so wait for the pid to go.
      sh(`while kill -0 ${pid} 2>/dev/null; do sleep 0.05; done`);
      const third = parseLock(sh(lockAcquireCommand(lock, 60, 'owner-d')).stdout);
      expect(third.locked).toBe(true);
      if (third.locked) sh(lockReleaseCommand(lock, 'owner-d'));
    } finally {
      sh(`kill ${pid} 2>/dev/null`);
    }
  });

  asRoot('release is checked: the holder is gone, the lock free and its line cleared; no sleep is left', () => {
    const lock = join(tempDir(), 'run', 'restore.lock');
    const first = parseLock(sh(lockAcquireCommand(lock, 60, 'owner-a')).stdout);
    expect(first.locked).toBe(true);
    const pid = first.locked ? first.pid : 0;
    const released = sh(lockReleaseCommand(lock, 'owner-a'));
    expect(released.stdout.trim()).toBe('released=1');
    expect(sh(`kill -0 ${pid} 2>/dev/null`).status).not.toBe(0);
    expect(readFileSync(lock, 'utf8')).toBe('');
    expect(statSync(join(lock, '..')).mode & 0o777).toBe(0o700);
    // A clean release leaves nothing stale for the next holder.
    const next = parseLock(sh(lockAcquireCommand(lock, 60, 'owner-b')).stdout);
    expect(next).toEqual({ locked: true, pid: expect.any(Number) });
    sh(lockReleaseCommand(lock, 'owner-b'));
  });

  asRoot('a lock whose holder died is taken over, and the acquire says whose it was', () => {
    const lock = join(tempDir(), 'run', 'restore.lock');
    const first = parseLock(sh(lockAcquireCommand(lock, 60, 'owner-dead')).stdout);
    const pid = first.locked ? first.pid : 0;
    sh(`kill -9 ${pid}; while kill -0 ${pid} 2>/dev/null; do sleep 0.05; done; sleep 0.2`);
    const next = parseLock(sh(lockAcquireCommand(lock, 60, 'owner-new')).stdout);
    expect(next).toEqual({
      locked: true,
      pid: expect.any(Number),
      stale: expect.stringMatching(new RegExp(`^${pid} \\S+ owner-dead$`)),
    });
    sh(lockReleaseCommand(lock, 'owner-new'));
  });

  asRoot('refuses a lock directory that is a symlink or not owned by root, changing nothing', () => {
    const base = tempDir();
    const elsewhere = join(base, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(base, 'run'));
    const viaLink = sh(lockAcquireCommand(join(base, 'run', 'restore.lock'), 60, 'owner-x'));
    expect(viaLink.status).toBe(1);
    expect(viaLink.stdout).toMatch(/is a symlink; pef refuses to use it/);
    expect(existsSync(join(elsewhere, 'restore.lock'))).toBe(false);

    const foreign = join(base, 'foreign');
    mkdirSync(foreign, { mode: 0o777 });
    chownSync(foreign, 65534, 65534);
    const notRoot = sh(lockAcquireCommand(join(foreign, 'restore.lock'), 60, 'owner-x'));
    expect(notRoot.status).toBe(1);
    expect(notRoot.stdout).toMatch(/is not owned by root; pef refuses to use it/);
    expect(existsSync(join(foreign, 'restore.lock'))).toBe(false);
  });
});

describe('parseLock', () => {
  it('reads lock results', () => {
    expect(parseLock('locked=123\n')).toEqual({ locked: true, pid: 123 });
    expect(parseLock('busy=123 2025-01-01T00:00:00Z pef-x\n')).toEqual({
      locked: false,
      holder: '123 2025-01-01T00:00:00Z pef-x',
    });
    expect(parseLock('error=flock exited 1\n')).toEqual({ locked: false, holder: 'flock exited 1' });
  });
});
