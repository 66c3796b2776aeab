/**
 * Runs the built CLI (`bin/pef.js`, needs `npm run build`) as a child process without a TTY,
 * the way runbook scripts and CI call it.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/pef.js', import.meta.url));

/** The example runbook scripts (examples/runbooks/). */
export const NIGHTLY_CHECK = fileURLToPath(new URL('../../examples/runbooks/nightly-check.mjs', import.meta.url));
export const DR_DRILL = fileURLToPath(new URL('../../examples/runbooks/dr-drill.mjs', import.meta.url));
export const MAINTENANCE_SWITCHOVER = fileURLToPath(
  new URL('../../examples/runbooks/maintenance-switchover.mjs', import.meta.url),
);

/** What the CLI printed and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How runCli and runNode run the child. */
export interface RunOptions {
  cwd?: string;
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  emptyEnv?: boolean;
}

/** Runs `pef ...args` in `cwd`; stdin is empty unless given; `emptyEnv` inherits no variable. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return runNode([BIN, ...args], options);
}

/** Runs `node ...args` (a script such as an example runbook) the way runCli runs pef. */
export function runNode(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd ?? process.cwd(),
      // emptyEnv: nothing inherited, as a new user's first run (only what the test gives).
      env: { ...(options.emptyEnv === true ? {} : process.env), CI: 'true', NODE_OPTIONS: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** A `--format json` run's document; a run that printed something else fails the test with its output. */
export function cliJson(run: CliRun): Record<string, unknown> {
  try {
    return JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** The failed steps of a `pef plan run … --format json` document, as `name: message` lines. */
export function failedSteps(result: Record<string, unknown>): string[] {
  return (result['steps'] as { name: string; status: string; error?: { msg: string } }[])
    .filter((s) => s.status === 'failure')
    .map((s) => `${s.name}: ${s.error?.msg ?? ''}`);
}

/**
 * The lab pair as the workflow suites start from it: healthy, primary.lab active. A failed pass
 * an earlier suite left recorded is waited out (the jobs' next pass, every 60 s, clears it); a
 * suite run alone gets its warm spare from `setup`, and fails with setup's failed steps.
 */
export async function ensureWarmSpare(inventory: string): Promise<void> {
  const status = async () => cliJson(await runCli(['status', '-i', inventory, '--format', 'json']));
  let doc = await status();
  for (let i = 0; i < 12 && doc['healthy'] !== true; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    doc = await status();
  }
  if (doc['healthy'] === true && doc['active'] === 'primary.lab') return;
  const setup = cliJson(await runCli(['plan', 'run', 'setup', '-i', inventory, '--format', 'json', 'code=rsync']));
  const failed = failedSteps(setup);
  if (failed.length > 0) throw new Error(`setup of the warm spare failed:\n${failed.join('\n')}`);
}

/**
 * An inventory of a primary and a replica on `addresses` where nothing listens (every connection
 * is refused at once), written into `dir`; returns its path.
 */
export function writeUnreachablePair(dir: string, addresses: readonly [string, string]): string {
  const file = join(dir, 'inventory.yaml');
  writeFileSync(
    file,
    `version: 2
targets:
  - name: primary.example
    uri: ${addresses[0]}
    vars: { role: primary }
  - name: replica.example
    uri: ${addresses[1]}
    vars: { role: replica }
config:
  transport: ssh
  ssh: { user: root, connect-timeout: 2, host-key-check: false }
`,
  );
  return file;
}
