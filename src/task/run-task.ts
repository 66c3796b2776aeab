/**
 * Runs one task over many targets: validates params once, then for each target builds a
 * TaskContext on the target's pooled connection and calls `run`. Noop is honoured here:
 * `change` and `upload` are recorded, not sent, and the result carries them in its `noop`
 * report, beside the task's own value (JSON `_would_run`).
 */
import { PefError } from '../errors/pef-error.js';
import type { ResultSet } from '../executor/result.js';
import type { Target } from '../inventory/target.js';
import type { Runtime } from '../runtime/runtime.js';
import type { CommandOutput, Connection } from '../transport/transport.js';
import { validateParams } from './params.js';
import type { HostCommands, TaskCommandOptions, TaskContext, TaskDefinition } from './task.js';

/** Runs `task` with raw `params` on `targets`; exactly one Result per target. */
export async function runTask(
  runtime: Runtime,
  task: TaskDefinition,
  targets: readonly Target[],
  rawParams: Record<string, unknown>,
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
  return runtime.executor.run('task', task.name, targets, async (target) => {
    const connection = await runtime.connections.get(target);
    const wouldRun: string[] = [];
    const ctx = taskContext(runtime, task, target, connection, params, wouldRun);
    runtime.log.write('info', `task ${task.name} start${runtime.noop ? ' (noop)' : ''}`, target.name);
    const outcome = await task.run(ctx).catch((error: unknown) => {
      runtime.log.write(
        'error',
        `task ${task.name} failed: ${error instanceof Error ? error.message : String(error)}`,
        target.name,
      );
      throw error;
    });
    runtime.log.write('info', `task ${task.name} done changed=${outcome.changed}`, target.name);
    return {
      value: { ...outcome.value },
      changed: outcome.changed,
      ...(runtime.noop ? { noop: { wouldRun } } : {}),
    };
  });
}

function taskContext<P>(
  runtime: Runtime,
  task: TaskDefinition,
  target: Target,
  connection: Connection,
  params: P,
  wouldRun: string[],
): TaskContext<P> {
  const own = hostCommands(runtime, task.name, target, connection, wouldRun, '');
  return {
    ...own,
    params,
    noop: runtime.noop,
    connection,
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
      return hostCommands(runtime, task.name, peer, await runtime.connections.get(peer), wouldRun, `${peer.name}: `);
    },
  };
}

// read/change/upload for one host. Noop records go to the task's own would_run list, prefixed
// with the peer's name when the command is meant for another host.
function hostCommands(
  runtime: Runtime,
  task: string,
  target: Target,
  connection: Connection,
  wouldRun: string[],
  prefix: string,
): HostCommands {
  const exec = async (command: string, options: TaskCommandOptions = {}): Promise<CommandOutput> => {
    const { okExitCodes = [0], ...commandOptions } = options;
    const output = await connection.run(command, {
      ...commandOptions,
      onOutput: (stream, chunk) => {
        runtime.events.emit({ type: 'output', target: target.name, stream, chunk });
        options.onOutput?.(stream, chunk);
      },
    });
    if (output.exitCode === null || !okExitCodes.includes(output.exitCode))
      throw commandFailed(task, target, command, output);
    return output;
  };
  const record = (command: string): void => {
    wouldRun.push(prefix + command);
    runtime.events.emit({ type: 'noop-command', target: target.name, command });
    runtime.log.write('info', `noop: would run: ${command}`, target.name);
  };
  return {
    target,
    read: exec,
    change: async (command, options) => {
      if (runtime.noop) {
        record(command);
        return undefined;
      }
      return exec(command, options);
    },
    upload: async (localPath, remotePath, options) => {
      if (runtime.noop) {
        record(
          `upload ${localPath} -> ${remotePath}${options?.mode === undefined ? '' : ` (mode ${options.mode.toString(8)})`}`,
        );
        return;
      }
      await connection.upload(localPath, remotePath, options);
    },
  };
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
