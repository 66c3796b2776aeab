/**
 * Runs one task over many targets: validates params once, then for each target builds a
 * TaskContext on the target's pooled connection and calls `run`. Noop is honoured here:
 * `change` and `upload` are recorded, not sent, and the result carries them in its `noop`
 * report, beside the task's own value (JSON `_would_run`). Cancellation is honoured here too:
 * after it no command starts, except through `ctx.cleanup`, or when the whole task runs as a
 * cleanup (a plan's put-back, PlanDefinition.onStop).
 */
import { PefError } from '../errors/pef-error.js';
import type { ResultSet } from '../executor/result.js';
import type { Target } from '../inventory/target.js';
import { CLEANUP_TIMEOUT_MS } from '../runtime/cancellation.js';
import type { Runtime } from '../runtime/runtime.js';
import type { CommandOutput, Connection } from '../transport/transport.js';
import { validateParams } from './params.js';
import { hasRunTimeValue } from './run-time-value.js';
import type { HostCommands, TaskCommandOptions, TaskContext, TaskDefinition } from './task.js';

/** Runs `task` with raw `params` on `targets`; exactly one Result per target. */
export async function runTask(
  runtime: Runtime,
  task: TaskDefinition,
  targets: readonly Target[],
  rawParams: Record<string, unknown>,
  options: { cleanup?: boolean } = {},
): Promise<ResultSet> {
  if (runtime.noop && !task.supportsNoop) {
    throw new PefError(
      'pef/param-error',
      `Task ${task.name} does not support --noop: its changes cannot be previewed safely. Run it without --noop, or not at all.`,
      {
        task: task.name,
      },
    );
  }
  const params = validateParams(task.params, rawParams, { kind: 'task', name: task.name });
  const cleanup = options.cleanup === true;
  return runtime.executor.run(
    'task',
    task.name,
    targets,
    async (target) => {
      const connection = await runtime.connections.get(target);
      const wouldRun: string[] = [];
      const ctx = taskContext(runtime, task, target, connection, params, wouldRun, cleanup);
      runtime.log.write('info', `task ${task.name} start${runtime.noop ? ' (noop)' : ''}`, target.name);
      const outcome = await task
        .run(ctx)
        .catch((error: unknown) => {
          runtime.log.write(
            'error',
            `task ${task.name} failed: ${error instanceof Error ? error.message : String(error)}`,
            target.name,
          );
          throw error;
        })
        .finally(() => runtime.cancellation.atRisk(target.name, undefined));
      runtime.log.write('info', `task ${task.name} done changed=${outcome.changed}`, target.name);
      return {
        value: { ...outcome.value },
        changed: outcome.changed,
        ...(runtime.noop ? { noop: { wouldRun } } : {}),
      };
    },
    { cleanup },
  );
}

function taskContext<P>(
  runtime: Runtime,
  task: TaskDefinition,
  target: Target,
  connection: Connection,
  params: P,
  wouldRun: string[],
  cleanup: boolean,
): TaskContext<P> {
  // A task run as a cleanup: every command of it behaves as ctx.cleanup's, and its signal never aborts.
  const own = hostCommands(runtime, task.name, target, connection, wouldRun, '', { cleanup });
  return {
    ...own,
    params,
    noop: runtime.noop,
    prompter: runtime.prompter,
    connection,
    signal: cleanup ? new AbortController().signal : runtime.cancellation.signal,
    cleanup: hostCommands(runtime, task.name, target, connection, wouldRun, '', { cleanup: true }),
    atRisk: (note) =>
      runtime.cancellation.atRisk(target.name, note === undefined ? undefined : `${task.name}: ${note}`),
    log: (text) => {
      runtime.events.emit({ type: 'message', target: target.name, text });
      runtime.log.write('info', text, target.name);
    },
    peer: async (name) => {
      const [peer] = await runtime.targets.resolve(name);
      if (!peer)
        throw new PefError('pef/unknown-target', `${task.name}: no target named ${name} in the inventory.`, {
          target: name,
        });
      const connection = await runtime.connections.get(peer);
      return {
        ...hostCommands(runtime, task.name, peer, connection, wouldRun, `${peer.name}: `, { cleanup }),
        // A task that changed the peer must be able to put it back after a Ctrl-C too.
        cleanup: hostCommands(runtime, task.name, peer, connection, wouldRun, `${peer.name}: `, { cleanup: true }),
      };
    },
  };
}

// read/change/upload for one host. Noop records go to the task's own would_run list, prefixed
// with the peer's name when the command is meant for another host. Normal commands do not start
// once the run is cancelled and are killed after the grace period; cleanup commands ignore the
// cancellation and get a bounded timeout instead.
function hostCommands(
  runtime: Runtime,
  task: string,
  target: Target,
  connection: Connection,
  wouldRun: string[],
  prefix: string,
  mode: { cleanup?: boolean } = {},
): HostCommands {
  const { cancellation } = runtime;
  const exec = async (command: string, options: TaskCommandOptions = {}): Promise<CommandOutput> => {
    const { okExitCodes = [0], runTimeInput: _unused, capture: _kept, ...commandOptions } = options;
    if (mode.cleanup !== true) cancellation.throwIfCancelled(`\`${firstLine(command)}\` on ${target.name}`);
    // A placeholder only stands in for a value in a dry run; sent, it would be taken literally.
    if (hasRunTimeValue(command))
      throw new PefError(
        'pef/internal',
        `${task} on ${target.name}: a dry run's placeholder in \`${firstLine(command)}\``,
        {
          command,
        },
      );
    const output = await connection.run(command, {
      ...commandOptions,
      ...(mode.cleanup === true
        ? { timeoutMs: options.timeoutMs ?? CLEANUP_TIMEOUT_MS }
        : { signal: cancellation.commandSignal }),
      onOutput: (stream, chunk) => {
        runtime.events.emit({ type: 'output', target: target.name, stream, chunk });
        options.onOutput?.(stream, chunk);
      },
    });
    if (output.exitCode === null || !okExitCodes.includes(output.exitCode))
      throw commandFailed(task, target, command, output);
    return output;
  };
  const record = (command: string, options: TaskCommandOptions = {}): void => {
    wouldRun.push(prefix + command);
    runtime.events.emit({
      type: 'noop-command',
      target: target.name,
      command,
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.runTimeInput === undefined ? {} : { runTimeInput: options.runTimeInput }),
      ...(options.capture === undefined ? {} : { capture: options.capture }),
      ...(options.okExitCodes === undefined ? {} : { okExitCodes: options.okExitCodes }),
    });
    runtime.log.write('info', `noop: would run: ${command}`, target.name);
  };
  return {
    target,
    read: exec,
    change: async (command, options) => {
      if (mode.cleanup !== true) cancellation.throwIfCancelled(`\`${firstLine(command)}\` on ${target.name}`);
      if (runtime.noop) {
        record(command, options);
        return undefined;
      }
      return exec(command, options);
    },
    upload: async (localPath, remotePath, options) => {
      if (mode.cleanup !== true) cancellation.throwIfCancelled(`the upload of ${localPath} to ${target.name}`);
      if (runtime.noop) {
        record(
          `upload ${localPath} -> ${remotePath}${options?.mode === undefined ? '' : ` (mode ${options.mode.toString(8)})`}`,
          { runTimeInput: `the controller file ${localPath}, copied by pef's connection` },
        );
        return;
      }
      await connection.upload(localPath, remotePath, options);
    },
  };
}

function firstLine(command: string): string {
  const line = command.split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 80)}…` : line;
}

function commandFailed(task: string, target: Target, command: string, output: CommandOutput): PefError {
  const tail = (output.stderr.trim() || output.stdout.trim()).split('\n').slice(-5).join('\n');
  const how = output.exitCode === null ? 'was killed by a signal' : `exited with ${output.exitCode}`;
  return new PefError(
    'pef/command-failed',
    `${task} on ${target.name}: \`${command}\` ${how}${tail ? `:\n${tail}` : ''}`,
    {
      command,
      exitCode: output.exitCode,
      stderr: output.stderr.slice(-4000),
    },
  );
}
