/**
 * One SSH connection to one target, reused by every step of a run. Commands go through the
 * persistent command channel (command-channel.ts), one at a time per channel, queued in FIFO
 * order; when that channel cannot start (no POSIX shell, a forced command…) or when asked to,
 * they go through exec channels instead (exec-runner.ts). Files go through one SFTP session
 * opened on first use. Everything the connection opens stays below sshd's MaxSessions (10).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { NodeSSH } from 'node-ssh';
import { PefError } from '../../errors/pef-error.js';
import type { Target } from '../../inventory/target.js';
import {
  commandCancelledError,
  connectionClosedError,
  connectionLostError,
  describeTarget,
} from '../command-errors.js';
import { effectiveTimeoutMs } from '../command-timeout.js';
import type { CommandOptions, CommandOutput, Connection } from '../transport.js';
import { CommandChannel, type ChannelCommandOptions } from './command-channel.js';
import { escalationFor, type Escalation } from './escalation.js';
import { ExecRunner } from './exec-runner.js';
import { Limiter } from './limiter.js';
import { KILL_AFTER_SECONDS, sessionKillScript } from './shell.js';
import { shQuote } from '../../util/shell-quote.js';
import type { Ssh2Client, Ssh2Error, Ssh2Sftp } from './ssh2-types.js';

/** How commands reach the host: the persistent shell, or one exec channel each. */
export type CommandMode = 'persistent' | 'exec';

/** Tuning of one connection; SshTransport fills in the defaults. */
export interface SshConnectionOptions {
  commandMode: CommandMode;
  /** The shell the persistent channel runs, and runs commands with (default `sh`). */
  shell: string;
  /** Persistent shells run side by side (1–4). */
  commandChannels: number;
  /** Exec channels open at once in exec mode (1–8). */
  execChannels: number;
  /** How long the persistent shell (and sudo) may take to start. */
  startTimeoutMs: number;
  /** The limit of a command that names none (undefined: no limit); see command-timeout.ts. */
  commandTimeoutMs: number | undefined;
}

// The stop of a timed-out or cancelled command: TERM, KILL after the grace, and polling in between.
const STOP_LIMIT_MS = (KILL_AFTER_SECONDS + 10) * 1000;

/** An open SSH link to one target; see the file comment. */
export class SshConnection implements Connection {
  readonly target: Target;
  readonly #ssh: NodeSSH;
  readonly #options: SshConnectionOptions;
  readonly #escalation: Escalation | undefined;
  readonly #lanes: Limiter;
  readonly #execSlots: Limiter;
  readonly #idle: CommandChannel[] = [];
  readonly #busy = new Set<CommandChannel>();
  #mode: CommandMode;
  #fallbackReason: string | undefined;
  #shellStarted = false;
  #exec: ExecRunner | undefined;
  #sftp: Promise<Ssh2Sftp> | undefined;
  #runAsIds: Promise<{ uid: number; gid: number }> | undefined;
  #lost: PefError | undefined;
  #lastError: Ssh2Error | undefined;
  #closed = false;

  constructor(target: Target, ssh: NodeSSH, options: SshConnectionOptions) {
    this.target = target;
    this.#ssh = ssh;
    this.#options = options;
    this.#mode = options.commandMode;
    this.#escalation = escalationFor(target);
    this.#lanes = new Limiter(options.commandChannels);
    this.#execSlots = new Limiter(options.execChannels);
    const client = this.#client();
    // After `ready` node-ssh no longer listens for errors; without this an error would crash pef.
    client.on('error', (error) => (this.#lastError = error));
    client.on('close', () => this.#onClose());
  }

  /** How commands are run now; 'exec' after a fallback. */
  get mode(): CommandMode {
    return this.#mode;
  }

  /** Why the connection fell back to exec channels, if it did. */
  get fallbackReason(): string | undefined {
    return this.#fallbackReason;
  }

  /** False once the connection was closed or lost. */
  get alive(): boolean {
    return !this.#closed && this.#lost === undefined;
  }

  async run(command: string, commandOptions: CommandOptions = {}): Promise<CommandOutput> {
    this.#assertAlive();
    const { timeoutMs, ...rest } = commandOptions;
    const options: ChannelCommandOptions = {
      ...rest,
      timeoutMs: effectiveTimeoutMs(timeoutMs, this.#options.commandTimeoutMs),
    };
    const cancelled = (): boolean => options.signal?.aborted === true;
    if (cancelled()) throw commandCancelledError(this.target, command, false);
    if (this.#mode === 'exec') return this.#runExec(command, options);
    return this.#lanes.use(async () => {
      this.#assertAlive();
      // Cancelled while it waited for a lane: it must not start.
      if (cancelled()) throw commandCancelledError(this.target, command, false);
      if (this.#mode === 'exec') return this.#runExec(command, options);
      const channel = this.#idle.pop() ?? (await this.#openChannel());
      if (channel === undefined) return this.#runExec(command, options);
      this.#busy.add(channel);
      try {
        return await channel.run(command, options);
      } catch (error) {
        throw this.#lost ?? error;
      } finally {
        this.#busy.delete(channel);
        if (channel.alive && this.alive) this.#idle.push(channel);
      }
    });
  }

  async upload(localPath: string, remotePath: string, options: { mode?: number } = {}): Promise<void> {
    this.#assertAlive();
    const sftp = await this.#sftpSession();
    if (this.#escalation === undefined) {
      await this.#transfer('upload', localPath, remotePath, async () => {
        await sftpCall<void>((cb) =>
          sftp.fastPut(localPath, remotePath, options.mode === undefined ? {} : { mode: options.mode }, cb),
        );
        // The SFTP server applies its umask at open; set the mode asked for explicitly.
        if (options.mode !== undefined)
          await sftpCall<void>((cb) => sftp.chmod(remotePath, options.mode as number, cb));
      });
      return;
    }
    // As another user: upload as the login user to a private temp dir, then copy as run-as. The dir's
    // name is random and sftp's mkdir fails if it exists, so nothing planted in /tmp is used.
    const dir = `/tmp/pef-upload-${randomBytes(8).toString('hex')}`;
    const temp = `${dir}/file`;
    try {
      await this.#transfer('upload', localPath, remotePath, async () => {
        await sftpCall<void>((cb) => sftp.mkdir(dir, { mode: 0o700 }, cb));
        await sftpCall<void>((cb) => sftp.fastPut(localPath, temp, {}, cb));
        if (this.target.config.ssh.user === 'root') {
          // A non-root run-as user could not read root's private temp dir otherwise.
          const { uid, gid } = await this.#runAsIdentity();
          await sftpCall<void>((cb) => sftp.chown(dir, uid, gid, cb));
          await sftpCall<void>((cb) => sftp.chown(temp, uid, gid, cb));
        }
      });
      const copy =
        options.mode === undefined
          ? `cp -- ${shQuote(temp)} ${shQuote(remotePath)}`
          : `install -m ${options.mode.toString(8)} -- ${shQuote(temp)} ${shQuote(remotePath)}`;
      const result = await this.run(copy);
      if (result.exitCode !== 0)
        throw transferError(
          this.target,
          'upload',
          localPath,
          remotePath,
          `as ${this.#escalation.runAs}: ${result.stderr.trim()}`,
        );
    } finally {
      // Best effort, and safe to miss: the dir is private (0700, random name); a failure here must
      // not hide the upload's own error.
      await sftpCall<void>((cb) => sftp.unlink(temp, cb)).catch(() => undefined);
      await sftpCall<void>((cb) => sftp.rmdir(dir, cb)).catch(() => undefined);
    }
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    this.#assertAlive();
    const sftp = await this.#sftpSession();
    try {
      await sftpCall<void>((cb) => sftp.fastGet(remotePath, localPath, {}, cb));
      return;
    } catch (error) {
      // SFTP runs as the login user; a file only the run-as user can read comes through the shell.
      if (this.#escalation === undefined || (error as { code?: number }).code !== SFTP_PERMISSION_DENIED) {
        throw transferError(this.target, 'download', localPath, remotePath, (error as Error).message);
      }
    }
    const result = await this.run(`base64 < ${shQuote(remotePath)}`);
    if (result.exitCode !== 0)
      throw transferError(
        this.target,
        'download',
        localPath,
        remotePath,
        `as ${this.#escalation.runAs}: ${result.stderr.trim()}`,
      );
    await this.#transfer('download', localPath, remotePath, () =>
      writeFile(localPath, Buffer.from(result.stdout, 'base64')),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = this.#lost ?? connectionClosedError(this.target);
    for (const channel of [...this.#idle, ...this.#busy]) channel.abort(error);
    this.#idle.length = 0;
    this.#exec?.abort(error);
    const sftp = this.#sftp;
    this.#sftp = undefined;
    // Closing: an sftp session that never opened or already broke has nothing left to end.
    if (sftp) await sftp.then((s) => s.end()).catch(() => undefined);
    this.#ssh.dispose();
  }

  #client(): Ssh2Client {
    const client = this.#ssh.connection as unknown as Ssh2Client | null;
    if (client === null) throw connectionLostError(this.target, 'not connected');
    return client;
  }

  #assertAlive(): void {
    if (this.#lost) throw this.#lost;
    if (this.#closed) throw connectionClosedError(this.target);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#lost = connectionLostError(this.target, this.#lastError?.message ?? 'the server closed it');
    for (const channel of [...this.#idle, ...this.#busy]) channel.abort(this.#lost);
    this.#idle.length = 0;
    this.#exec?.abort(this.#lost);
  }

  // A new persistent shell, or undefined after switching this connection to exec channels.
  async #openChannel(): Promise<CommandChannel | undefined> {
    try {
      const channel = await CommandChannel.open({
        client: this.#client(),
        target: this.target,
        shell: this.#options.shell,
        startTimeoutMs: this.#options.startTimeoutMs,
        stopCommand: (pid) => this.#stopCommand(pid),
        ...(this.#escalation === undefined ? {} : { escalation: this.#escalation }),
      });
      this.#shellStarted = true;
      return channel;
    } catch (error) {
      if (this.#lost) throw this.#lost;
      // Only a shell that never started means the host needs exec channels; a shell that
      // worked before and fails now is a real error, and so is every sudo failure.
      if (!this.#shellStarted && error instanceof PefError && error.details['fallback'] === true) {
        this.#mode = 'exec';
        this.#fallbackReason = error.message;
        return undefined;
      }
      throw error;
    }
  }

  // Stops a persistent shell and what it is running, from an exec channel (as the run-as user).
  async #stopCommand(shellPid: number): Promise<boolean> {
    const result = await this.#runExec(sessionKillScript(shellPid, KILL_AFTER_SECONDS, false), {
      timeoutMs: STOP_LIMIT_MS,
    });
    return result.exitCode === 0;
  }

  #runExec(command: string, options: ChannelCommandOptions): Promise<CommandOutput> {
    this.#exec ??= new ExecRunner({
      ssh: this.#ssh,
      target: this.target,
      // POSIX sh is the contract of run(); the shell option only shapes the persistent channel.
      shell: 'sh',
      ...(this.#escalation === undefined ? {} : { escalation: this.#escalation }),
      connectionError: () => this.#lost,
    });
    const exec = this.#exec;
    return this.#execSlots.use(() => exec.run(command, options));
  }

  #sftpSession(): Promise<Ssh2Sftp> {
    this.#sftp ??= this.#ssh.requestSFTP().then(
      (sftp) => {
        const session = sftp as unknown as Ssh2Sftp;
        session.on('close', () => (this.#sftp = undefined));
        return session;
      },
      (error: unknown) => {
        this.#sftp = undefined;
        throw (
          this.#lost ??
          new PefError(
            'pef/transfer-failed',
            `Cannot open an SFTP session on ${describeTarget(this.target)}: ${(error as Error).message}`,
            { target: this.target.name },
          )
        );
      },
    );
    return this.#sftp;
  }

  #runAsIdentity(): Promise<{ uid: number; gid: number }> {
    this.#runAsIds ??= this.run('id -u; id -g').then((r) => {
      const [uid, gid] = r.stdout.trim().split('\n').map(Number);
      if (r.exitCode !== 0 || uid === undefined || gid === undefined || Number.isNaN(uid) || Number.isNaN(gid)) {
        throw new PefError(
          'pef/transfer-failed',
          `Cannot find the ids of ${this.#escalation?.runAs ?? 'the run-as user'} on ${describeTarget(this.target)}: ${r.stderr.trim()}`,
          {
            target: this.target.name,
          },
        );
      }
      return { uid, gid };
    });
    return this.#runAsIds;
  }

  async #transfer(
    direction: 'upload' | 'download',
    localPath: string,
    remotePath: string,
    fn: () => Promise<void>,
  ): Promise<void> {
    try {
      await fn();
    } catch (error) {
      if (this.#lost) throw this.#lost;
      if (error instanceof PefError) throw error;
      throw transferError(this.target, direction, localPath, remotePath, (error as Error).message);
    }
  }
}

// SSH_FX_PERMISSION_DENIED
const SFTP_PERMISSION_DENIED = 3;

function transferError(
  target: Target,
  direction: 'upload' | 'download',
  localPath: string,
  remotePath: string,
  cause: string,
): PefError {
  const what =
    direction === 'upload'
      ? `${localPath} to ${describeTarget(target)}:${remotePath}`
      : `${describeTarget(target)}:${remotePath} to ${localPath}`;
  return new PefError('pef/transfer-failed', `Cannot ${direction} ${what}: ${cause}`, {
    target: target.name,
    direction,
    localPath,
    remotePath,
  });
}

function sftpCall<T>(fn: (callback: (error: Error | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));
}
