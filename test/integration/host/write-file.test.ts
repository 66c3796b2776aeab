/**
 * The root-safe writer against real files, as root (the tests run as root), in a directory owned
 * by a service account (`nobody` here) that plants symlinks as itself: the planted links are
 * refused or replaced, never followed, and the files they point at stay as they were.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendLineCommand, makeDirCommand, writeFileCommand } from '../../../src/host/files.js';

const NOBODY = 65534;
let base: string;
/** Owned by nobody, like a cadir is owned by puppet. */
let serviceDir: string;
/** A root-only file the service account must never get written or handed over. */
let victim: string;

function sh(command: string, stdin = ''): { code: number; stderr: string } {
  const r = spawnSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' });
  return { code: r.status ?? -1, stderr: r.stderr };
}

/** Runs `command` as the service account, as a compromised Puppet Server JVM would. */
function asService(command: string): void {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', command], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`as nobody: ${command}: ${r.stderr}`);
}

function victimUntouched(): void {
  expect(readFileSync(victim, 'utf8')).toBe('root secret\n');
  const st = statSync(victim);
  expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
}

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'pef-write-test-'));
  chmodSync(base, 0o755);
  serviceDir = join(base, 'service');
  mkdirSync(serviceDir, { mode: 0o755 });
  chownSync(serviceDir, NOBODY, NOBODY);
  mkdirSync(join(base, 'root-only'), { mode: 0o700 });
  victim = join(base, 'root-only', 'shadow');
  writeFileSync(victim, 'root secret\n', { mode: 0o600 });
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('writeFileCommand', () => {
  it('writes stdin with owner, group and mode, atomically, and leaves no temp behind', () => {
    const target = join(serviceDir, 'serial');
    const r = sh(writeFileCommand(target, { mode: '640', owner: 'nobody', group: 'nogroup' }), '0x186A0');
    expect(r).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(target, 'utf8')).toBe('0x186A0');
    const st = statSync(target);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([NOBODY, NOBODY, 0o640]);
    expect(readdirSync(serviceDir)).toEqual(['serial']);
  });

  it('refuses a target the service account made a symlink, naming the path and the fix; the link target is untouched', () => {
    const target = join(serviceDir, 'serial');
    asService(`ln -s ${victim} ${target}`);
    const r = sh(writeFileCommand(target, { mode: '644', owner: 'nobody' }), 'pwned');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`pef: refusing to write ${target}: it is a symbolic link (to ${victim})`);
    expect(r.stderr).toContain(`rm -- ${target}`);
    victimUntouched();
    expect(lstatSync(target).isSymbolicLink()).toBe(true);
    expect(readdirSync(serviceDir)).toEqual(['serial']);
  });

  it('is not fooled by links planted at the temp names (the old `<target>.pef-tmp`, the stage file)', () => {
    const target = join(serviceDir, 'serial');
    asService(`ln -s ${victim} ${target}.pef-tmp && ln -s ${victim} ${serviceDir}/f.pef-tmp`);
    const r = sh(writeFileCommand(target, { mode: '644', owner: 'nobody' }), 'new');
    expect(r).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(target, 'utf8')).toBe('new');
    victimUntouched();
  });

  it('refuses a directory reached through a symlink the service account planted', () => {
    asService(`ln -s ${join(base, 'root-only')} ${serviceDir}/signed`);
    const r = sh(writeFileCommand(join(serviceDir, 'signed', 'shadow'), { mode: '644', owner: 'nobody' }), 'pwned');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('a symbolic link in the path');
    victimUntouched();
    expect(readdirSync(join(base, 'root-only'))).toEqual(['shadow']);
  });

  it('refuses a target that is a directory', () => {
    asService(`mkdir ${serviceDir}/serial`);
    const r = sh(writeFileCommand(join(serviceDir, 'serial'), { mode: '644' }), 'x');
    expect(r.stderr).toContain('exists and is not a regular file');
  });

  it("with 'keep' keeps the existing file's owner, group and mode", () => {
    const target = join(serviceDir, 'serial');
    asService(`printf old > ${target} && chmod 604 ${target}`);
    expect(sh(writeFileCommand(target, 'keep'), 'new')).toEqual({ code: 0, stderr: '' });
    const st = statSync(target);
    expect([readFileSync(target, 'utf8'), st.uid, st.mode & 0o777]).toEqual(['new', NOBODY, 0o604]);
    const missing = sh(writeFileCommand(join(serviceDir, 'none'), 'keep'), 'x');
    expect(missing.stderr).toContain('no attributes to keep');
    expect(readdirSync(serviceDir)).toEqual(['serial']);
  });

  it('decodes base64, and re-writes an existing file with new attributes', () => {
    const target = join(serviceDir, 'keys.json');
    expect(
      sh(writeFileCommand(target, { mode: '600' }, { content: 'base64' }), Buffer.from('{"k":1}').toString('base64'))
        .code,
    ).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('{"k":1}');
    expect(sh(writeFileCommand(target, { mode: '640', owner: 'nobody' }, { content: 'existing' })).code).toBe(0);
    const st = statSync(target);
    expect([readFileSync(target, 'utf8'), st.uid, st.mode & 0o777]).toEqual(['{"k":1}', NOBODY, 0o640]);
  });
});

describe('appendLineCommand', () => {
  it('appends one line, and refuses a symlink leaving its target untouched', () => {
    const inventory = join(serviceDir, 'inventory.txt');
    asService(`printf 'a\\n' > ${inventory}`);
    expect(sh(appendLineCommand(inventory, 'b'))).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(inventory, 'utf8')).toBe('a\nb\n');
    asService(`rm ${inventory} && ln -s ${victim} ${inventory}`);
    const r = sh(appendLineCommand(inventory, 'pwned'));
    expect(r.stderr).toContain('is a symbolic link');
    victimUntouched();
  });
});

describe('makeDirCommand', () => {
  it('creates a directory with owner and mode, accepts an existing one, refuses a symlink', () => {
    const dir = join(serviceDir, 'secrets');
    expect(sh(makeDirCommand(dir, { mode: '750', owner: 'nobody', group: 'nogroup' }))).toEqual({
      code: 0,
      stderr: '',
    });
    const st = statSync(dir);
    expect([st.isDirectory(), st.uid, st.mode & 0o777]).toEqual([true, NOBODY, 0o750]);
    expect(sh(makeDirCommand(dir, { mode: '750' })).code).toBe(0);
    asService(`ln -s ${join(base, 'root-only')} ${serviceDir}/conf.d`);
    const r = sh(makeDirCommand(join(serviceDir, 'conf.d'), { mode: '755', owner: 'nobody' }));
    expect(r.stderr).toContain('is a symbolic link');
    expect(statSync(join(base, 'root-only')).uid).toBe(0);
  });
});
