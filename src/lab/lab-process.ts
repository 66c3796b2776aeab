/**
 * Running commands for the lab: on the controller, and inside a lab host through nsenter
 * (mount, UTS, IPC and PID namespaces of the host's holder, with a clean root environment).
 * Commands never throw for a non-zero exit; callers decide (`check`).
 */
import { PefError } from '../errors/pef-error.js';
import { cgroupOf, inCgroup } from './lab-cgroup.js';

/** Output of a finished command. */
export interface RunOutput {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Options of `runCommand`. */
export interface RunOptions {
  input?: string;
  /** Extra environment on top of the controller's. */
  env?: Readonly<Record<string, string>>;
  timeoutMs?: number;
}

/** The PATH every lab host command gets. */
export const LAB_HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Runs argv on the controller and captures its output. */
export async function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<RunOutput> {
  const { $ } = await import('zx');
  const out = await $({
    nothrow: true,
    quiet: true,
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
  })`${argv}`;
  return { exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr };
}

/** argv that runs `command` inside the host whose namespace init is `initPid`, as root with a clean env. */
export function hostArgv(
  initPid: number,
  command: readonly string[],
  env: Readonly<Record<string, string>> = {},
): string[] {
  const vars = Object.entries({
    PATH: LAB_HOST_PATH,
    HOME: '/root',
    USER: 'root',
    LOGNAME: 'root',
    LANG: 'C.UTF-8',
    ...env,
  });
  // The command joins the host's cgroup too, so a partition (lab-partition.ts) covers what it starts.
  const cgroup = cgroupOf(initPid);
  return inCgroup(cgroup?.startsWith('pef-lab/') === true ? cgroup : undefined, [
    'nsenter',
    '-t',
    String(initPid),
    '-m',
    '-u',
    '-i',
    '-p',
    '--wd=/',
    '--',
    'env',
    '-i',
    ...vars.map(([k, v]) => `${k}=${v}`),
    ...command,
  ]);
}

/** Runs a command inside a lab host. */
export async function runInHost(
  initPid: number,
  command: readonly string[],
  options: RunOptions = {},
): Promise<RunOutput> {
  const { env, ...rest } = options;
  return runCommand(hostArgv(initPid, command, env), rest);
}

/** Runs a bash script (given as text) inside a lab host, with arguments. */
export async function runScriptInHost(
  initPid: number,
  script: string,
  args: readonly string[] = [],
  options: Omit<RunOptions, 'input'> = {},
): Promise<RunOutput> {
  return runInHost(initPid, ['bash', '-s', '--', ...args], { ...options, input: script });
}

/** Throws `pef/lab-error` naming `what` and the command's last output lines unless it exited 0. */
export function check(out: RunOutput, what: string, details: Record<string, unknown> = {}): RunOutput {
  if (out.exitCode === 0) return out;
  const tail = `${out.stdout}\n${out.stderr}`.trim().split('\n').slice(-15).join('\n');
  throw new PefError('pef/lab-error', `${what} failed (exit ${String(out.exitCode)}):\n${tail}`, {
    ...details,
    exitCode: out.exitCode,
  });
}
