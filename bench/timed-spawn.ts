/**
 * Runs one process and measures its wall time from spawn to exit. The child gets its own
 * process group, so a timeout (or the bench's teardown) stops it and everything it forked.
 */
import { spawn } from 'node:child_process';
import type { Cleanup } from './cleanup.js';
import { reapedChildrenCpuMs } from './cpu.js';

/** How to run one process. */
export interface TimedSpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process group and fail after this long (default 60 s). */
  timeoutMs?: number;
  /** Do not capture output (for processes that leave a forked child holding the pipes). */
  discardOutput?: boolean;
}

/** What one run left behind. */
export interface TimedRun {
  ms: number;
  /** CPU of the process and the children it reaped (valid when no other child of ours ends meanwhile). */
  cpuMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// Enough for ansible's output over 200 hosts; the rest is dropped.
const MAX_CAPTURE = 4 * 1024 * 1024;

/** Spawns `command args`, resolves when it has exited; see the file comment. */
export function timedSpawn(
  cleanup: Cleanup,
  command: string,
  args: readonly string[],
  options: TimedSpawnOptions = {},
): Promise<TimedRun> {
  if (cleanup.stopping) return Promise.reject(new Error(`not starting ${command}: the bench is stopping`));
  return new Promise<TimedRun>((resolve, reject) => {
    const started = performance.now();
    const cpu0 = reapedChildrenCpuMs('self');
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', options.discardOutput ? 'ignore' : 'pipe', options.discardOutput ? 'ignore' : 'pipe'],
      detached: true,
    });
    const pid = child.pid;
    if (pid !== undefined) cleanup.trackPid(-pid);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      if (stdout.length < MAX_CAPTURE) stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < MAX_CAPTURE) stderr += d.toString();
    });
    const timeoutMs = options.timeoutMs ?? 60_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid);
    }, timeoutMs);
    let ms = 0;
    let cpuMs = 0;
    let code: number | null = null;
    let signal: NodeJS.Signals | null = null;
    let grace: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(grace);
      if (pid !== undefined) cleanup.untrackPid(-pid);
      if (timedOut)
        reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr.slice(-2000)}`));
      else resolve({ ms, cpuMs, code, signal, stdout, stderr });
    };
    child.once('error', (error) => {
      clearTimeout(timer);
      if (pid !== undefined) cleanup.untrackPid(-pid);
      reject(error);
    });
    child.once('exit', (c, s) => {
      ms = performance.now() - started;
      // libuv has reaped the child by now, so its CPU is in our cutime/cstime.
      cpuMs = reapedChildrenCpuMs('self') - cpu0;
      code = c;
      signal = s;
      // A forked grandchild (an ssh master) may hold the pipes open: do not wait for it.
      grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, 2_000);
    });
    child.once('close', finish);
  });
}

/** SIGKILLs a process group by its leader's pid (ignoring one that is gone). */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
