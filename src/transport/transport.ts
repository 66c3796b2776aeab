/**
 * The transport contract. A Transport opens Connections; a Connection is one live link to one
 * target that every step of a run reuses. Connections never throw for a command that merely
 * exits non-zero: that is data (`exitCode`). They throw PefError for what stops the link from
 * working (`pef/connect-failed`, `pef/timeout`, `pef/host-key-mismatch`, `pef/connection-lost` …)
 * and `pef/cancelled` for a command whose AbortSignal fired.
 */
import type { Target, TransportName } from '../inventory/target.js';

/** Which stream a chunk of output came from. */
export type Stream = 'stdout' | 'stderr';

/** How to run one command. */
export interface CommandOptions {
  /** Data for the command's stdin; without it stdin is /dev/null. */
  stdin?: string;
  /** Extra environment variables for this command only. */
  env?: Readonly<Record<string, string>>;
  /**
   * Kill the command (and everything it started) and fail with `pef/timeout` after this many ms.
   * Default: the connection's `commandTimeoutMs` (10 minutes unless configured); 0 or Infinity: no limit.
   */
  timeoutMs?: number;
  /**
   * Cancels the command: when it fires, the running command is killed on the host like at a
   * timeout and run() fails with `pef/cancelled`; a command not started yet never starts.
   */
  signal?: AbortSignal;
  /** Called with output as it arrives, for live rendering. */
  onOutput?: (stream: Stream, chunk: string) => void;
}

/** What a finished command left behind. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  /** null when the command was killed by a signal. */
  exitCode: number | null;
  durationMs: number;
}

/** One live link to one target; see the file comment. */
export interface Connection {
  readonly target: Target;
  /** False once the link is gone for good (the pool then opens a new one); absent means alive. */
  readonly alive?: boolean;
  /** Run a shell command (POSIX sh syntax), as the run-as user when the target has one. */
  run(command: string, options?: CommandOptions): Promise<CommandOutput>;
  /** Copy a local file to the target. */
  upload(localPath: string, remotePath: string, options?: { mode?: number }): Promise<void>;
  /** Copy a file from the target to the controller. */
  download(remotePath: string, localPath: string): Promise<void>;
  /** Close the link; safe to call twice. */
  close(): Promise<void>;
}

/** Opens connections of one kind. */
export interface Transport {
  readonly name: TransportName;
  connect(target: Target): Promise<Connection>;
}
