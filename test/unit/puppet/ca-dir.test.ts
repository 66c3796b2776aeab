/**
 * The CA install script runs for real here (sh on the controller, temp dirs): swap, refusal on a
 * digest mismatch or a link with the old CA left intact, the staged copy removed, repair of a swap
 * interrupted between renames, and incremental installs built from the previous generation.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { caDigestCommand, installCaCommand } from '../../../src/puppet/ca-dir.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pef-ca-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8' });
const digest = (dir: string) => execFileSync('sh', ['-c', caDigestCommand(dir)], { encoding: 'utf8' }).trim();
const owner = `${userInfo().username}:${execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim()}`;

describe('caDigestCommand', () => {
  it('changes with content, with mode and with names, and is empty for a missing dir', () => {
    const a = tree({ 'ca_crt.pem': 'A', 'signed/x.pem': 'X', serial: '0004' });
    const base = digest(a);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(join(a, 'serial'), '0005');
    expect(digest(a)).not.toBe(base);
    execFileSync('chmod', ['600', join(a, 'ca_crt.pem')]);
    const afterMode = digest(a);
    execFileSync('chmod', ['644', join(a, 'ca_crt.pem')]);
    expect(afterMode).not.toBe(digest(a));
    expect(digest(join(a, 'nope'))).toBe('');
  });
});

describe('installCaCommand', () => {
  it('swaps the staged copy in and removes the old one', () => {
    const staged = tree({ 'ca_crt.pem': 'NEW', 'signed/agent.pem': 'S' });
    const host = tree({ 'ca/ca_crt.pem': 'OLD', 'ca/stale.pem': 'gone' });
    const cadir = join(host, 'ca');
    const run = sh(installCaCommand(staged, cadir, owner, digest(staged)));
    expect(run.status).toBe(0);
    expect(readFileSync(join(cadir, 'ca_crt.pem'), 'utf8')).toBe('NEW');
    expect(existsSync(join(cadir, 'stale.pem'))).toBe(false);
    expect(existsSync(`${cadir}.pef-old`)).toBe(false);
    expect(existsSync(`${cadir}.pef-new`)).toBe(false);
    // The staged copy (a second CA key) does not stay in the transfer user's incoming dir.
    expect(existsSync(staged)).toBe(false);
  });

  it('creates the cadir when the replica has none yet', () => {
    const staged = tree({ 'ca_crt.pem': 'NEW' });
    const host = tree({});
    const cadir = join(host, 'puppetserver', 'ca');
    expect(sh(installCaCommand(staged, cadir, owner, digest(staged))).status).toBe(0);
    expect(readFileSync(join(cadir, 'ca_crt.pem'), 'utf8')).toBe('NEW');
  });

  it("refuses a staged copy whose digest is not the primary's, leaving the old CA in place", () => {
    const staged = tree({ 'ca_crt.pem': 'TRUNCATED' });
    const host = tree({ 'ca/ca_crt.pem': 'OLD' });
    const run = sh(installCaCommand(staged, join(host, 'ca'), owner, 'f'.repeat(64)));
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('does not match the primary');
    expect(readFileSync(join(host, 'ca', 'ca_crt.pem'), 'utf8')).toBe('OLD');
    expect(existsSync(join(host, 'ca.pef-new'))).toBe(false);
    expect(existsSync(staged)).toBe(false);
  });

  it('refuses a staged copy holding a link (which the digest of regular files would not see)', () => {
    const staged = tree({ 'ca_crt.pem': 'NEW' });
    const want = digest(staged);
    symlinkSync('/etc/shadow', join(staged, 'inventory.txt'));
    const host = tree({ 'ca/ca_crt.pem': 'OLD' });
    const run = sh(installCaCommand(staged, join(host, 'ca'), owner, want));
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('a link?');
    expect(readFileSync(join(host, 'ca', 'ca_crt.pem'), 'utf8')).toBe('OLD');
    expect(existsSync(join(host, 'ca.pef-new'))).toBe(false);
  });

  it('repairs a run that died between the two renames', () => {
    const staged = tree({ 'ca_crt.pem': 'NEW' });
    const host = tree({ 'ca/ca_crt.pem': 'OLD' });
    renameSync(join(host, 'ca'), join(host, 'ca.pef-old'));
    const bad = sh(installCaCommand(staged, join(host, 'ca'), owner, 'f'.repeat(64)));
    expect(bad.status).toBe(3);
    // The failed attempt still put the previous CA back where Puppet looks for it.
    expect(readFileSync(join(host, 'ca', 'ca_crt.pem'), 'utf8')).toBe('OLD');
  });
});

describe('installCaCommand, incremental (continuous replication)', () => {
  it("keeps the staged copy, takes the key from the current cadir and matches the primary's full digest", () => {
    const primary = tree({ 'ca_crt.pem': 'C', 'ca_key.pem': 'KEY', 'signed/a.pem': 'A', 'signed/b.pem': 'B' });
    const staged = tree({ 'ca_crt.pem': 'C', 'signed/a.pem': 'A', 'signed/b.pem': 'B' });
    const host = tree({ 'ca/ca_crt.pem': 'C', 'ca/ca_key.pem': 'KEY', 'ca/signed/a.pem': 'A' });
    const cadir = join(host, 'ca');
    const run = sh(installCaCommand(staged, cadir, owner, digest(primary), { incremental: true }));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(digest(cadir)).toBe(digest(primary));
    expect(readFileSync(join(staged, 'signed/b.pem'), 'utf8')).toBe('B');
    expect(existsSync(join(staged, 'ca_key.pem'))).toBe(false);
  });

  it('keeps the swapped-out CA as the base of the next install, which rsync brings up to date', () => {
    const primary = tree({ 'ca_crt.pem': 'C', 'ca_key.pem': 'KEY', 'signed/a.pem': 'A', 'signed/b.pem': 'B' });
    const staged = tree({ 'ca_crt.pem': 'C', 'signed/a.pem': 'A', 'signed/b.pem': 'B' });
    const host = tree({ 'ca/ca_crt.pem': 'C', 'ca/ca_key.pem': 'KEY', 'ca/signed/a.pem': 'A' });
    const cadir = join(host, 'ca');
    expect(sh(installCaCommand(staged, cadir, owner, digest(primary), { incremental: true })).status).toBe(0);
    // The CA it replaced is kept, whole (key included), for the next install to start from.
    expect(readFileSync(join(`${cadir}.pef-base`, 'ca_key.pem'), 'utf8')).toBe('KEY');
    expect(existsSync(join(`${cadir}.pef-base`, 'signed/b.pem'))).toBe(false);

    const baseInode = statSync(`${cadir}.pef-base`).ino;
    // Next pass: b revoked and removed, c signed; only the delta is written into the base.
    for (const dir of [primary, staged]) {
      rmSync(join(dir, 'signed/b.pem'));
      writeFileSync(join(dir, 'signed/c.pem'), 'C2');
    }
    const run = sh(installCaCommand(staged, cadir, owner, digest(primary), { incremental: true }));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(digest(cadir)).toBe(digest(primary));
    expect(existsSync(join(cadir, 'signed/b.pem'))).toBe(false);
    expect(existsSync(`${cadir}.pef-new`)).toBe(false);
    expect(existsSync(`${cadir}.pef-old`)).toBe(false);
    expect(existsSync(join(`${cadir}.pef-base`, 'signed/b.pem'))).toBe(true);
    // The new cadir is the old base directory, updated in place, not a fresh copy.
    expect(statSync(cadir).ino).toBe(baseInode);
    // A full install (the sync_ca task) leaves no base behind.
    const full = tree({ 'ca_crt.pem': 'C', 'ca_key.pem': 'KEY', 'signed/a.pem': 'A', 'signed/c.pem': 'C2' });
    expect(sh(installCaCommand(full, cadir, owner, digest(primary))).status).toBe(0);
    expect(existsSync(`${cadir}.pef-base`)).toBe(false);
  });

  it('drops a base that does not end up matching (same size and time, other content) for a full copy', () => {
    const primary = tree({ 'ca_crt.pem': 'C', 'ca_key.pem': 'KEY', 'signed/a.pem': 'A' });
    const staged = tree({ 'ca_crt.pem': 'C', 'signed/a.pem': 'A' });
    const host = tree({
      'ca/ca_crt.pem': 'C',
      'ca/ca_key.pem': 'KEY',
      'ca.pef-base/ca_crt.pem': 'X',
      'ca.pef-base/signed/a.pem': 'A',
    });
    // rsync's quick check (size and mtime) cannot see this difference; the digest does.
    execFileSync('touch', ['-r', join(staged, 'ca_crt.pem'), join(host, 'ca.pef-base', 'ca_crt.pem')]);
    const cadir = join(host, 'ca');
    const run = sh(installCaCommand(staged, cadir, owner, digest(primary), { incremental: true }));
    expect(run.status).toBe(0);
    expect(digest(cadir)).toBe(digest(primary));
    expect(readFileSync(join(cadir, 'ca_crt.pem'), 'utf8')).toBe('C');
  });

  it('does not follow a base that is a symbolic link', () => {
    const primary = tree({ 'ca_crt.pem': 'C', 'ca_key.pem': 'KEY' });
    const staged = tree({ 'ca_crt.pem': 'C' });
    const host = tree({ 'ca/ca_crt.pem': 'OLD', 'ca/ca_key.pem': 'KEY', 'elsewhere/keep.pem': 'KEEP' });
    symlinkSync(join(host, 'elsewhere'), join(host, 'ca.pef-base'));
    const cadir = join(host, 'ca');
    const run = sh(installCaCommand(staged, cadir, owner, digest(primary), { incremental: true }));
    expect(run.status).toBe(0);
    expect(digest(cadir)).toBe(digest(primary));
    expect(readFileSync(join(host, 'elsewhere', 'keep.pem'), 'utf8')).toBe('KEEP');
  });

  it('refuses (and removes) a key in the staged copy, and refuses a cadir without a key, changing nothing', () => {
    const staged = tree({ 'ca_crt.pem': 'C', 'ca_key.pem': 'KEY' });
    const host = tree({ 'ca/ca_crt.pem': 'OLD', 'ca/ca_key.pem': 'KEY' });
    const withKey = sh(installCaCommand(staged, join(host, 'ca'), owner, digest(staged), { incremental: true }));
    expect(withKey.status).toBe(3);
    expect(existsSync(join(staged, 'ca_key.pem'))).toBe(false);
    const bare = tree({ 'ca/ca_crt.pem': 'OLD' });
    const noKey = sh(installCaCommand(staged, join(bare, 'ca'), owner, 'f'.repeat(64), { incremental: true }));
    expect(noKey.status).toBe(3);
    expect(noKey.stderr).toContain('no ca_key.pem to keep');
    expect(readFileSync(join(bare, 'ca', 'ca_crt.pem'), 'utf8')).toBe('OLD');
  });
});
