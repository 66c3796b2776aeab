/**
 * Run-as through sudo against a real sshd, in both command modes: escalation without a
 * password (root to nobody), with a password (a dedicated test user whose sudo rule requires
 * one), and the failures: no password configured, wrong password.
 *
 * The test user `pef-sudo-test` and its sudoers drop-in are created only if missing and
 * removed afterwards when this file created them. Needs sudo (scripts/install.sh installs it).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PefError } from '../../../src/errors/pef-error.js';
import { SshTransport } from '../../../src/transport/ssh-transport.js';
import { Sensitive } from '../../../src/util/sensitive.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

// Real processes on a shared 2-core machine: allow for load.
jest.setTimeout(60_000);

const run = promisify(execFile);
const USER = 'pef-sudo-test';
const SUDOERS = `/etc/sudoers.d/${USER}`;
const password = randomBytes(12).toString('hex');
let createdUser = false;
let createdSudoers = false;
let sshd: Sshd;
let dir: string;

beforeAll(async () => {
  if (!existsSync('/usr/bin/sudo')) throw new Error('sudo is not installed; run scripts/install.sh');
  const exists = await run('id', [USER]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await run('useradd', ['-m', '-s', '/bin/sh', USER]);
    createdUser = true;
  }
  // The password is ours to choose each run; sshd (UsePAM no) also refuses a locked account.
  await new Promise<void>((resolve, reject) => {
    const child = execFile('chpasswd', (error) =>
      error ? reject(new Error('chpasswd failed', { cause: error })) : resolve(),
    );
    child.stdin?.end(`${USER}:${password}\n`);
  });
  if (!existsSync(SUDOERS)) {
    // Credentials cached across sessions on purpose: a cached sudo must not leave the password unread.
    await writeFile(SUDOERS, `Defaults:${USER} timestamp_type=global\n${USER} ALL=(ALL:ALL) ALL\n`, { mode: 0o440 });
    createdSudoers = true;
  }
  sshd = await startSshd();
  dir = await mkdtemp(join(tmpdir(), 'pef-run-as-test-'));
}, 30_000);

afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  if (createdSudoers) await rm(SUDOERS, { force: true });
  if (createdUser) await run('userdel', ['-r', USER]).catch(() => undefined);
  // The cached credentials of the user that is gone.
  if (createdUser) await rm(`/run/sudo/ts/${USER}`, { force: true });
});

describe.each(['persistent', 'exec'] as const)('run-as in %s mode', (commandMode) => {
  const transport = (): SshTransport => new SshTransport({ commandMode });

  it('runs as another user when the login user may sudo without a password', async () => {
    const conn = await transport().connect(sshd.target({ runAs: 'nobody' }));
    try {
      const out = await conn.run('id -un; pwd');
      // nobody's home does not exist, so commands start in /.
      expect(out).toMatchObject({ stdout: 'nobody\n/\n', exitCode: 0 });
      expect((await conn.run('cat', { stdin: 'via sudo' })).stdout).toBe('via sudo');
      expect((await conn.run('echo "$V"', { env: { V: 'env via sudo' } })).stdout).toBe('env via sudo\n');
    } finally {
      await conn.close();
    }
  });

  it('sends the sudo-password when sudo needs one, and never shows it', async () => {
    const outputs: string[] = [];
    const conn = await transport().connect(
      sshd.target({ user: USER, runAs: 'root', sudoPassword: new Sensitive(password) }),
    );
    try {
      for (let i = 0; i < 3; i++) {
        const out = await conn.run('id -un; cat', { stdin: 'in', onOutput: (_s, c) => outputs.push(c) });
        expect(out).toMatchObject({ stdout: 'root\nin', stderr: '', exitCode: 0 });
      }
      expect(outputs.join('')).not.toContain(password);
    } finally {
      await conn.close();
    }
  });

  it('transfers files the login user may not touch, through the run-as user', async () => {
    const conn = await transport().connect(
      sshd.target({ user: USER, runAs: 'root', sudoPassword: new Sensitive(password) }),
    );
    const secretFile = `/root/pef-run-as-${commandMode}-${randomBytes(4).toString('hex')}`;
    const local = join(dir, `root-only-${commandMode}`);
    try {
      await writeFile(local, Buffer.from([0, 200, 10, 65]));
      await conn.upload(local, secretFile, { mode: 0o600 });
      const st = await stat(secretFile);
      expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
      const back = join(dir, `root-only-back-${commandMode}`);
      await conn.download(secretFile, back);
      expect(await readFile(back)).toEqual(Buffer.from([0, 200, 10, 65]));
    } finally {
      await rm(secretFile, { force: true });
      await conn.close();
    }
  });

  it('stops a timed-out or cancelled command of the run-as user (sudo with a password) and keeps going', async () => {
    const conn = await transport().connect(
      sshd.target({ user: USER, runAs: 'root', sudoPassword: new Sensitive(password) }),
    );
    const pidFile = `/root/pef-run-as-stop-${commandMode}-${randomBytes(4).toString('hex')}`;
    const runningAsRoot = async (): Promise<boolean> => {
      const pid = (await readFile(pidFile, 'utf8')).trim();
      const st = await stat(`/proc/${pid}`).catch(() => undefined);
      if (st === undefined) return false;
      const state = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ' Z ')).replace(/^.*\) /s, '');
      expect(st.uid).toBe(0);
      return !state.startsWith('Z');
    };
    try {
      await expect(conn.run(`sleep 1051 & echo $! > ${pidFile}; wait`, { timeoutMs: 1500 })).rejects.toMatchObject({
        kind: 'pef/timeout',
      });
      expect(await runningAsRoot()).toBe(false);
      const controller = new AbortController();
      const cancelled = conn.run(`sleep 1052 & echo $! > ${pidFile}; echo started; wait`, {
        signal: controller.signal,
        onOutput: (_s, chunk) => {
          if (chunk.includes('started')) controller.abort();
        },
      });
      await expect(cancelled).rejects.toMatchObject({ kind: 'pef/cancelled' });
      expect(await runningAsRoot()).toBe(false);
      expect(await conn.run('id -un')).toMatchObject({ stdout: 'root\n', exitCode: 0 });
    } finally {
      await rm(pidFile, { force: true });
      await conn.close();
    }
  });

  it('fails with pef/escalation-failed naming sudo-password when none is configured', async () => {
    const conn = await transport().connect(sshd.target({ user: USER, runAs: 'root' }));
    try {
      const error = await conn.run('id -un').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PefError);
      expect(error).toMatchObject({ kind: 'pef/escalation-failed' });
      expect((error as PefError).message).toContain('sudo-password');
      expect((error as PefError).message).toContain(USER);
    } finally {
      await conn.close();
    }
  });

  it('fails with pef/escalation-failed when the password is wrong, without echoing it', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const conn = await transport().connect(
      sshd.target({ user: USER, runAs: 'root', sudoPassword: new Sensitive(wrong) }),
    );
    try {
      const error = await conn.run('id -un').catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'pef/escalation-failed' });
      expect((error as PefError).message).toContain('rejected');
      expect(JSON.stringify((error as PefError).toJSON())).not.toContain(wrong);
    } finally {
      await conn.close();
    }
  });

  it('uploads as the run-as user, with the mode asked for', async () => {
    const conn = await transport().connect(sshd.target({ runAs: 'nobody' }));
    const local = join(dir, `payload-${commandMode}`);
    const remote = join('/tmp', `pef-run-as-upload-${commandMode}-${randomBytes(4).toString('hex')}`);
    try {
      await writeFile(local, Buffer.from([0, 1, 2, 255, 10, 13]));
      await conn.upload(local, remote, { mode: 0o640 });
      const st = await stat(remote);
      expect(st.uid).toBe(65534);
      expect(st.mode & 0o777).toBe(0o640);
      expect(await readFile(remote)).toEqual(Buffer.from([0, 1, 2, 255, 10, 13]));
      const back = join(dir, `back-${commandMode}`);
      await conn.download(remote, back);
      expect(await readFile(back)).toEqual(await readFile(local));
      // No temp dir is left behind.
      expect((await run('sh', ['-c', 'ls -d /tmp/pef-upload-* 2>/dev/null || true'])).stdout).toBe('');
    } finally {
      await rm(remote, { force: true });
      await conn.close();
    }
  });
});
