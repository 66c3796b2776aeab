/**
 * copy_secrets: give a PE replica the primary's secret keys (orchestrator keys.json and
 * orchestrator-encryption-keys.json, console-services keys.json) and hiera.yaml. PE's DR docs
 * make this a manual step ("otherwise the replica generates a new secret key when you promote
 * it"); peadm's add_replica copies the same files.
 *
 * The contents never appear in a command, a log line, the value, an error or noop output: each
 * side is compared by sha256 (only digests are printed), and a file that differs is read on the
 * primary over the raw connection (no output events, so not even --verbose shows it), held as a
 * Sensitive (registered with the redactor), and handed to the replica on stdin, where it lands
 * in a root-only temp dir beside the target (src/host/files.ts, which refuses a symlink there) and
 * is renamed into place with the primary's owner, group and mode. Missing parent directories are created like the primary's. Noop reads no secret.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { sha256Command } from '../src/host/files.js';
import { SERVICE_MANAGER_PROBE, parseServiceManager, serviceCommand } from '../src/host/services.js';
import { assertPeHost, parsePeHostProbe, peHostProbeCommand } from '../src/puppet/pe-infrastructure.js';
import { assertReplicationAllowed } from '../src/puppet/mode.js';
import {
  fixAttributesCommand,
  octalMode,
  OPTIONAL_SECRET_FILES,
  parseSecretsProbe,
  PE_SECRET_FILES,
  planSecretCopy,
  readerOf,
  readSecretCommand,
  secretsProbeCommand,
  writeSecretCommand,
  type FilePlan,
} from '../src/puppet/pe-secrets.js';
import type { HostCommands, TaskContext } from '../src/task/task.js';
import { defineTask } from '../src/task/task.js';
import { redact, registerSecret, Sensitive } from '../src/util/sensitive.js';

const absolutePath = z
  .string()
  .regex(/^\/[^\t\n\r\0]*[^/]$/, 'an absolute file path without tabs or newlines')
  .refine((p) => !p.split('/').includes('..'), 'no ".." in the path');

/** Copies PE's secret keys to the replica; see the file comment. */
export const copySecrets = defineTask({
  name: 'copy_secrets',
  description: "PE: copy the primary's secret keys and hiera.yaml to the replica (by digest; contents never shown)",
  details: `Run on the PE primary with replica=<the replica's inventory name>. Files whose sha256 matches on
both ends are skipped (changed: false); a differing file is streamed to the replica on stdin and
renamed into place with the primary's owner, group and mode. Refused while the replication
kill-switch is on (either end) or the roles say the primary may not send / the replica may not receive.
pe-orchestration-services and pe-console-services read these files at start: restart them on the
replica (restart_services=true restarts the affected ones that run; pe-puppetserver is reloaded
for hiera.yaml). Contents never appear in output, logs or errors; only sha256 prefixes do.`,
  params: z.object({
    replica: z.string().min(1).describe("the replica's inventory name (written to through pef's connection)"),
    files: z
      .array(absolutePath)
      .min(1)
      .default([...PE_SECRET_FILES])
      .describe('absolute paths to copy (default: the three PE key files and hiera.yaml)'),
    optional: z
      .array(absolutePath)
      .default([...OPTIONAL_SECRET_FILES])
      .describe('of those, the ones that may be missing on the primary (skipped with a note)'),
    restart_services: z
      .boolean()
      .default(false)
      .describe('restart (or reload) the running services on the replica that read a changed file'),
  }),
  supportsNoop: true,
  // Long on purpose: it reads as the runbook it replaces, each step in order with its refusal
  // beside it; the step helpers live in src/.
  async run(ctx) {
    const task = 'copy_secrets';
    const replica = await ctx.peer(ctx.params.replica);
    const from = ctx.target.name;
    const to = replica.target.name;
    if (to === from)
      throw new PefError(
        'pef/task-failed',
        `${task}: replica=${ctx.params.replica} is this host (${from}); name the replica. Nothing was changed.`,
        { host: from },
      );
    for (const host of [ctx, replica]) {
      assertPeHost(
        parsePeHostProbe((await host.read(peHostProbeCommand({ certname: false }))).stdout),
        host.target.name,
        task,
        { certname: false },
      );
    }
    await assertReplicationAllowed(ctx, 'send', task);
    await assertReplicationAllowed(replica, 'receive', task);

    const paths = [...new Set(ctx.params.files)];
    const probe = secretsProbeCommand(paths);
    const source = parseSecretsProbe((await ctx.read(probe)).stdout);
    const dest = parseSecretsProbe((await replica.read(probe)).stdout);
    const { plans, problems } = planSecretCopy(paths, ctx.params.optional, source, dest, { source: from, dest: to });
    if (problems.length > 0) {
      throw new PefError(
        'pef/task-failed',
        `${task} cannot copy from ${from} to ${to}:\n  - ${problems.join('\n  - ')}\nNothing was changed.`,
        { host: from, replica: to, problems },
      );
    }

    const changedPaths: string[] = [];
    for (const plan of plans) {
      if (plan.action !== 'copy' && plan.action !== 'attributes') continue;
      const src = plan.source as NonNullable<FilePlan['source']>;
      try {
        if (plan.action === 'attributes') await replica.change(fixAttributesCommand(plan.path, src));
        else await copyFile(ctx, replica, plan, src);
      } catch (error) {
        throw new PefError(
          'pef/task-failed',
          `${task}: writing ${plan.path} on ${to} failed: ${failureText(error)}\n` +
            `${plan.path} on ${to} is as it was (the temp file was removed). ${changedPaths.length ? `Already updated: ${changedPaths.join(', ')}.` : 'No file was changed.'} Fix the cause and run ${task} again.`,
          { host: from, replica: to, path: plan.path, updated: changedPaths },
        );
      }
      changedPaths.push(plan.path);
    }

    const affected = new Map<string, 'restart' | 'reload'>();
    for (const path of changedPaths) {
      const reader = readerOf(path);
      if (reader) affected.set(reader.service, reader.action);
    }
    const restart = await restartReaders(replica, affected, ctx.params.restart_services);
    if (restart.needed.length > 0)
      ctx.log(
        `${to}: ${restart.needed.join(', ')} read the changed files at start; restart them (or run again with restart_services=true)`,
      );

    return {
      changed: changedPaths.length > 0,
      value: {
        replica: to,
        files: plans.map((p) => ({
          path: p.path,
          changed: p.action === 'copy' || p.action === 'attributes',
          action: p.action,
          ...(p.source
            ? {
                sha256: p.source.sha256.slice(0, 12),
                owner: p.source.owner,
                group: p.source.group,
                mode: octalMode(p.source.mode),
              }
            : {}),
          ...(p.createDirs.length ? { created_dirs: p.createDirs.map((d) => d.path) } : {}),
          ...(p.note ? { note: p.note } : {}),
        })),
        restarted: restart.done,
        restart_needed: restart.needed,
      },
    };
  },
});

// Reads on the primary over the raw connection: ctx.read would emit the output as events,
// which --verbose prints, before anything could mark it secret.
async function copyFile(
  ctx: TaskContext<unknown>,
  replica: HostCommands,
  plan: FilePlan,
  src: NonNullable<FilePlan['source']>,
): Promise<void> {
  const write = writeSecretCommand(plan.path, src, plan.createDirs);
  if (ctx.noop) {
    await replica.change(write, { runTimeInput: `the content of ${plan.path}, read on the primary at run time` });
    return;
  }
  const read = await ctx.connection.run(readSecretCommand(plan.path));
  if (read.exitCode !== 0) {
    throw new PefError(
      'pef/command-failed',
      `reading ${plan.path} on ${ctx.target.name} exited with ${String(read.exitCode)}: ${redact(read.stderr.trim().split('\n').slice(-3).join(' '))}`,
      {},
    );
  }
  const content = new Sensitive(read.stdout.trim());
  const bytes = Buffer.from(content.unwrap(), 'base64');
  markSecret(bytes);
  if (createHash('sha256').update(bytes).digest('hex') !== src.sha256) {
    throw new PefError(
      'pef/task-failed',
      `${plan.path} changed on ${ctx.target.name} while it was being copied (its sha256 no longer matches); nothing was written`,
      {},
    );
  }
  await replica.change(write, { stdin: content.unwrap() });
  const written = (await replica.read(sha256Command(plan.path))).stdout.trim();
  if (written !== src.sha256) {
    throw new PefError(
      'pef/task-failed',
      `${plan.path} on ${replica.target.name} has sha256 ${written.slice(0, 12)} after the write, not ${src.sha256.slice(0, 12)}`,
      {},
    );
  }
}

// The exit code and stderr of a failed write, without the (long) command; other errors as they are.
function failureText(error: unknown): string {
  if (error instanceof PefError && error.kind === 'pef/command-failed') {
    const stderr =
      typeof error.details['stderr'] === 'string' ? error.details['stderr'].trim().split('\n').slice(-3).join(' ') : '';
    return redact(`exited with ${String(error.details['exitCode'])}${stderr ? `: ${stderr}` : ''}`);
  }
  return error instanceof Error ? redact(error.message) : String(error);
}

// The redactor masks whole strings: the file, each longer line of it and, in a JSON file, each
// longer string value (the keys themselves), so a fragment quoted in some output is masked too.
function markSecret(bytes: Buffer): void {
  const text = bytes.toString('utf8');
  registerSecret(text);
  registerSecret(text.trim());
  for (const line of text.split('\n')) if (line.trim().length >= 20) registerSecret(line.trim());
  const walk = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= 16) registerSecret(value);
    else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) walk(v);
  };
  try {
    walk(JSON.parse(text));
  } catch {
    // Not JSON (hiera.yaml): the lines are enough.
  }
}

async function restartReaders(
  replica: HostCommands,
  affected: Map<string, 'restart' | 'reload'>,
  restart: boolean,
): Promise<{ done: string[]; needed: string[] }> {
  if (affected.size === 0) return { done: [], needed: [] };
  const manager = parseServiceManager((await replica.read(SERVICE_MANAGER_PROBE)).stdout);
  const running: [string, 'restart' | 'reload'][] = [];
  for (const [service, action] of affected) {
    const status = await replica.read(serviceCommand(manager, 'status', service), {
      okExitCodes: [0, 1, 2, 3, 4, 5, 7],
    });
    if (status.exitCode === 0) running.push([service, action]);
  }
  if (!restart) return { done: [], needed: running.map(([s]) => s) };
  const done: string[] = [];
  for (const [service, action] of running) {
    try {
      await replica.change(serviceCommand(manager, action, service));
    } catch (error) {
      throw new PefError(
        'pef/task-failed',
        `copy_secrets: the files were copied to ${replica.target.name}, but \`${action} ${service}\` failed there: ${redact((error as Error).message)}\n` +
          `${done.length ? `Already ${action}ed: ${done.join(', ')}. ` : ''}Check ${service} on ${replica.target.name} and start it; the copied files are in place (a rerun reports changed: false).`,
        { replica: replica.target.name, service, done },
      );
    }
    done.push(service);
  }
  return { done, needed: [] };
}
