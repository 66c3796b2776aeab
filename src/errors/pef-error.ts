/**
 * The one error type of pef. Every failure a user can meet carries a namespaced `kind`
 * (stable, for scripts), a human message that names what to fix, `details` for JSON output,
 * and the process exit code the CLI should end with.
 */

/**
 * Exit codes, documented in docs/cli.md: 0 ok, 1 usage or config error, 2 a target or step failed,
 * 130 interrupted (Ctrl-C or SIGTERM; the shell's 128 + SIGINT).
 */
export type ExitCode = 0 | 1 | 2 | 130;

/** Stable error kinds. Scripts may switch on these; add, never rename. */
export type PefErrorKind =
  | 'pef/usage-error'
  | 'pef/validation-error'
  | 'pef/file-error'
  | 'pef/inventory-error'
  | 'pef/unknown-target'
  | 'pef/unknown-task'
  | 'pef/unknown-plan'
  | 'pef/unknown-step'
  | 'pef/param-error'
  | 'pef/connect-failed'
  | 'pef/auth-failed'
  | 'pef/host-key-mismatch'
  | 'pef/host-key-unknown'
  | 'pef/timeout'
  | 'pef/cancelled'
  | 'pef/connection-lost'
  | 'pef/escalation-failed'
  | 'pef/command-failed'
  | 'pef/transfer-failed'
  | 'pef/task-failed'
  | 'pef/untrusted-value'
  | 'pef/plan-failed'
  | 'pef/run-failure'
  | 'pef/non-interactive'
  | 'pef/lab-error'
  | 'pef/split-brain-guard'
  | 'pef/hook-failed'
  | 'pef/internal';

/** The JSON form of an error, Bolt's `{kind, msg, details}`. */
export interface ErrorData {
  kind: string;
  msg: string;
  details: Record<string, unknown>;
}

/** A failure with a kind, details and exit code; see the file comment. */
export class PefError extends Error {
  override readonly name = 'PefError';
  readonly kind: PefErrorKind;
  readonly details: Record<string, unknown>;
  readonly exitCode: 1 | 2 | 130;

  constructor(
    kind: PefErrorKind,
    message: string,
    details: Record<string, unknown> = {},
    options: { exitCode?: 1 | 2 | 130; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.details = details;
    this.exitCode = options.exitCode ?? defaultExitCode(kind);
  }

  toJSON(): ErrorData {
    return { kind: this.kind, msg: this.message, details: this.details };
  }
}

// Errors about what the user typed or wrote are exit 1; errors met on a target are exit 2.
const TARGET_KINDS: ReadonlySet<PefErrorKind> = new Set<PefErrorKind>([
  'pef/connect-failed',
  'pef/auth-failed',
  'pef/host-key-mismatch',
  'pef/host-key-unknown',
  'pef/timeout',
  'pef/connection-lost',
  'pef/escalation-failed',
  'pef/command-failed',
  'pef/transfer-failed',
  'pef/task-failed',
  'pef/untrusted-value',
  'pef/plan-failed',
  'pef/run-failure',
  'pef/split-brain-guard',
  'pef/hook-failed',
]);

function defaultExitCode(kind: PefErrorKind): 1 | 2 | 130 {
  if (kind === 'pef/cancelled') return 130;
  return TARGET_KINDS.has(kind) ? 2 : 1;
}

/** Turns anything thrown into ErrorData; non-PefErrors become `pef/internal`. */
export function toErrorData(error: unknown): ErrorData {
  if (error instanceof PefError) return error.toJSON();
  if (error instanceof Error) return { kind: 'pef/internal', msg: error.message, details: {} };
  return { kind: 'pef/internal', msg: String(error), details: {} };
}
