/**
 * The few ssh2 shapes pef uses. node-ssh's typings refer to ssh2's, which are not installed
 * (@types/ssh2 is not a dependency), so they resolve to `any`; these keep our code typed.
 */
import type { Duplex, Readable } from 'node:stream';

/** An error from ssh2; `level` says which layer failed (client-socket, client-timeout, …). */
export type Ssh2Error = Error & { level?: string; code?: string };

/** A session channel (exec). `data` is stdout, `stderr` the extended data stream. */
export interface Ssh2Channel extends Duplex {
  readonly stderr: Readable;
  signal(name: string): boolean;
  close(): void;
}

/** The connected ssh2 Client. */
export interface Ssh2Client {
  exec(
    command: string,
    options: Record<string, unknown>,
    callback: (error: Ssh2Error | undefined, channel: Ssh2Channel) => void,
  ): boolean;
  on(event: 'error', listener: (error: Ssh2Error) => void): this;
  on(event: 'close' | 'end', listener: () => void): this;
  end(): void;
}

/** File attributes as ssh2's SFTP returns them. */
export interface SftpStats {
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

/** The SFTP session methods pef uses. */
export interface Ssh2Sftp {
  fastPut(
    localPath: string,
    remotePath: string,
    options: { mode?: number },
    callback: (error: Error | undefined) => void,
  ): void;
  fastGet(
    remotePath: string,
    localPath: string,
    options: Record<string, never>,
    callback: (error: Error | undefined) => void,
  ): void;
  chmod(path: string, mode: number, callback: (error: Error | undefined) => void): void;
  chown(path: string, uid: number, gid: number, callback: (error: Error | undefined) => void): void;
  mkdir(path: string, attributes: { mode?: number }, callback: (error: Error | undefined) => void): void;
  rmdir(path: string, callback: (error: Error | undefined) => void): void;
  unlink(path: string, callback: (error: Error | undefined) => void): void;
  on(event: 'close', listener: () => void): this;
  end(): void;
}
