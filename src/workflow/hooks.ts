/**
 * Runs the hook commands of one point (src/workflow/hooks-config.ts) on the controller, as the
 * user pef runs as, one after another, each with `/bin/sh -c`, its own timeout (the process group
 * is killed) and the run's cancellation.
 *
 * What a hook sees: a small environment built here, never pef's own (which may hold the
 * inventory's env_var secrets): PATH, HOME, USER, LOGNAME, LANG, LC_ALL, TZ, TMPDIR and SHELL
 * when pef has them, then `PEF_HOOK` (the point), `PEF_PLAN` and what the plan passes
 * (`PEF_ACTIVE`, `PEF_PREVIOUS`, …). A value that holds a secret pef knows of is refused.
 * Its output goes to the run log and the progress display, line by line, redacted.
 *
 * A failing `before-*` hook throws `pef/hook-failed`: plans call it before they change anything,
 * so the plan stops with nothing changed. A failing `after-*` hook cannot undo the workflow: it
 * is reported (log, progress, the returned outcome) and the caller decides. In noop mode nothing
 * runs; each command is recorded like a task's change (and so appears in `pef plan export`).
 */
import { userInfo } from 'node:os';
import { PefError } from '../errors/pef-error.js';
import type { Target } from '../inventory/target.js';
import type { Runtime } from '../runtime/runtime.js';
import { LocalTransport } from '../transport/local-transport.js';
import type { Stream } from '../transport/transport.js';
import { redact } from '../util/sensitive.js';
import type { HookPoint } from './hooks-config.js';

/** How one hook point went. */
export interface HookOutcome {
  point: HookPoint;
  /** The commands that ran (all of them unless one failed); none in noop. */
  ran: string[];
  ok: boolean;
  noop: boolean;
  /** Why it failed, one line. */
  error?: string;
}

/** The variables pef passes on from its own environment, when set: nothing else of it reaches a hook. */
export const HOOK_PASSED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL'] as const;

const PEF_NAME = /^PEF_[A-Z][A-Z0-9_]*$/;

/**
 * Runs the commands configured for `point` in the plan `plan`, with `env` (names `PEF_…`) added
 * to the hook's environment; see the file comment. A point with no commands does nothing.
 */
export async function runHook(
  runtime: Runtime,
  plan: string,
  point: HookPoint,
  env: Readonly<Record<string, string>> = {},
): Promise<HookOutcome> {
  const commands = runtime.hooks.commands[point] ?? [];
  const hookEnv = { ...checkedEnv(point, env), PEF_HOOK: point, PEF_PLAN: plan };
  const noop = runtime.noop;
  if (commands.length === 0) return { point, ran: [], ok: true, noop };
  if (noop) {
    for (const { command } of commands) {
      runtime.events.emit({
        type: 'noop-command',
        target: CONTROLLER,
        command,
        env: hookEnv,
        local: true,
        ...(runtime.hooks.cwd === undefined ? {} : { cwd: runtime.hooks.cwd }),
      });
      runtime.log.write('info', `noop: would run hook ${point}: ${command}`, CONTROLLER);
    }
    return { point, ran: [], ok: true, noop };
  }
  const transport = new LocalTransport({
    env: passedEnv(),
    ...(runtime.hooks.cwd === undefined ? {} : { cwd: runtime.hooks.cwd }),
  });
  const connection = await transport.connect(controllerTarget());
  const ran: string[] = [];
  try {
    for (const { command, timeoutMs } of commands) {
      runtime.cancellation.throwIfCancelled(`hook ${point} (\`${command}\`)`);
      const failure = await runOne(runtime, connection, point, command, timeoutMs, hookEnv);
      if (failure === undefined) {
        ran.push(command);
        continue;
      }
      const error = `hook ${point} \`${command}\` ${failure}`;
      runtime.log.write(point.startsWith('before-') ? 'error' : 'warn', error, CONTROLLER);
      if (point.startsWith('before-'))
        throw new PefError(
          'pef/hook-failed',
          `${error}. Plan ${plan} stopped at its ${point} hook, before it changed anything. Fix the hook (or remove it from ${runtime.hooks.file ?? 'the pef config'}) and run the plan again.`,
          { point, command, plan },
        );
      runtime.events.emit({
        type: 'message',
        text: `${error}. The ${point.slice('after-'.length)} itself is done: make what the hook does by hand.`,
      });
      return { point, ran, ok: false, noop, error };
    }
  } finally {
    await connection.close();
  }
  return { point, ran, ok: true, noop };
}

// One command; undefined when it exited 0, else why not (exit code, signal, timeout), with the
// last line it wrote to stderr.
async function runOne(
  runtime: Runtime,
  connection: Awaited<ReturnType<LocalTransport['connect']>>,
  point: HookPoint,
  command: string,
  timeoutMs: number,
  env: Readonly<Record<string, string>>,
): Promise<string | undefined> {
  runtime.log.write('info', `hook ${point}: running \`${command}\` (limit ${timeoutMs / 1000} s)`, CONTROLLER);
  const lines = lineSplitter((stream, line) => {
    const text = redact(line);
    runtime.log.write(stream === 'stderr' ? 'warn' : 'info', `hook ${point}: ${text}`, CONTROLLER);
    runtime.events.emit({ type: 'message', target: CONTROLLER, text: `hook ${point}: ${text}` });
  });
  try {
    const out = await connection.run(command, {
      env,
      timeoutMs,
      signal: runtime.cancellation.commandSignal,
      onOutput: lines.push,
    });
    lines.flush();
    runtime.log.write('info', `hook ${point}: exit ${out.exitCode ?? 'signal'} in ${Math.round(out.durationMs)} ms`);
    if (out.exitCode === 0) return undefined;
    const last = redact(out.stderr.trim().split('\n').pop() ?? '');
    return `${out.exitCode === null ? 'was killed by a signal' : `exited with ${out.exitCode}`}${last === '' ? '' : `: ${last}`}`;
  } catch (error) {
    lines.flush();
    return error instanceof PefError && error.kind === 'pef/timeout'
      ? `did not finish within ${timeoutMs / 1000} s and was stopped`
      : `could not run: ${redact(error instanceof Error ? error.message : String(error))}`;
  }
}

/** The name hook lines carry in the log and the progress display. */
const CONTROLLER = 'controller';

function controllerTarget(): Target {
  const user = userInfo().username;
  return {
    name: CONTROLLER,
    aliases: [],
    groups: [],
    config: { transport: 'local', ssh: { host: 'localhost', port: 22, user, hostKeyCheck: true, connectTimeout: 10 } },
    vars: {},
    facts: {},
  };
}

// A plan's variables: PEF_ names only (a hook must not be able to shadow PATH through them),
// string values, none holding a known secret.
function checkedEnv(point: HookPoint, env: Readonly<Record<string, string>>): Record<string, string> {
  for (const [name, value] of Object.entries(env)) {
    if (!PEF_NAME.test(name) || name === 'PEF_HOOK' || name === 'PEF_PLAN')
      throw new PefError(
        'pef/internal',
        `hook ${point}: variable ${JSON.stringify(name)} is not allowed (use PEF_ and capitals; PEF_HOOK and PEF_PLAN are set by pef)`,
        { point, name },
      );
    if (typeof value !== 'string' || redact(value) !== value)
      throw new PefError(
        'pef/internal',
        `hook ${point}: ${name} holds a secret or no text; hooks never receive secrets`,
        {
          point,
          name,
        },
      );
  }
  return { ...env };
}

function passedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of HOOK_PASSED_ENV) {
    const value = process.env[name];
    if (value !== undefined && redact(value) === value) out[name] = value;
  }
  return out;
}

// Whole lines of each stream, for the log (a chunk may end mid-line).
function lineSplitter(onLine: (stream: Stream, line: string) => void): {
  push: (stream: Stream, chunk: string) => void;
  flush: () => void;
} {
  const rest: Record<Stream, string> = { stdout: '', stderr: '' };
  return {
    push: (stream, chunk) => {
      const parts = (rest[stream] + chunk).split('\n');
      rest[stream] = parts.pop() ?? '';
      for (const line of parts) onLine(stream, line);
    },
    flush: () => {
      for (const stream of ['stdout', 'stderr'] as const) {
        if (rest[stream] !== '') onLine(stream, rest[stream]);
        rest[stream] = '';
      }
    },
  };
}
