/**
 * The OpenSSH client as a baseline: options that ignore the user's ssh config and check host
 * keys against the test sshd's known_hosts, a ControlMaster started with `-M -S sock -f` and
 * `ControlPersist` (so even a killed bench leaves no master behind for long), and a way to find
 * and stop masters that others (ansible) left behind in a directory the bench owns.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { Cleanup } from './cleanup.js';
import { timedSpawn } from './timed-spawn.js';

/** Where and how to reach one sshd address. */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  knownHostsFile: string;
}

/** ssh(1) options for `endpoint`, up to and including the destination. */
export function sshArgs(endpoint: SshEndpoint, extra: readonly string[] = []): string[] {
  return [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    `UserKnownHostsFile=${endpoint.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-i',
    endpoint.privateKeyPath,
    '-p',
    String(endpoint.port),
    ...extra,
    `${endpoint.user}@${endpoint.host}`,
  ];
}

/** A running ControlMaster. */
export interface ControlMaster {
  socket: string;
  pid: number;
  /** Wall time to start it (connect + auth + fork). */
  startMs: number;
  stop(): Promise<void>;
}

/** Starts a ControlMaster on `socket`; it dies by itself `persistSeconds` after its last client. */
export async function startControlMaster(
  cleanup: Cleanup,
  endpoint: SshEndpoint,
  socket: string,
  persistSeconds = 120,
): Promise<ControlMaster> {
  const start = await timedSpawn(
    cleanup,
    'ssh',
    sshArgs(endpoint, ['-M', '-S', socket, '-o', `ControlPersist=${persistSeconds}`, '-N', '-f']),
    {
      discardOutput: true,
      timeoutMs: 30_000,
    },
  );
  if (start.code !== 0)
    throw new Error(`ssh ControlMaster to ${endpoint.host}:${endpoint.port} failed (exit ${start.code})`);
  const check = await timedSpawn(cleanup, 'ssh', sshArgs(endpoint, ['-S', socket, '-O', 'check']), {
    timeoutMs: 10_000,
  });
  const pid = Number.parseInt(/pid=(\d+)/.exec(check.stderr)?.[1] ?? '', 10);
  if (Number.isNaN(pid)) throw new Error(`ssh -O check found no master on ${socket}: ${check.stderr.trim()}`);
  cleanup.trackPid(pid);
  const stop = cleanup.add(`ssh ControlMaster ${pid}`, async () => {
    await timedSpawn(cleanup, 'ssh', sshArgs(endpoint, ['-S', socket, '-O', 'exit']), { timeoutMs: 10_000 }).catch(
      () => undefined,
    );
    killPid(pid);
    cleanup.untrackPid(pid);
  });
  return { socket, pid, startMs: start.ms, stop };
}

/** Pids of live processes whose command line mentions `marker` (a directory only the bench uses). */
export async function pidsMentioning(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

/** SIGTERMs the processes (by pid) that mention `marker`, e.g. ansible's ControlPersist masters. */
export async function stopProcessesMentioning(marker: string): Promise<number> {
  const pids = await pidsMentioning(marker);
  for (const pid of pids) killPid(pid, 'SIGTERM');
  return pids.length;
}

function killPid(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
