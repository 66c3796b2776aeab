/**
 * `pef lab stop HOST` and `pef lab start HOST`: a lab host loses power and boots again, for the
 * drills. Stop kills every process of the host at once (SIGKILL, no clean shutdown: PostgreSQL
 * recovers on the next start, as after a power cut); the host's disk (its overlays) stays, its
 * tmpfs /run and /tmp are emptied on start, as a boot does. Start brings up sshd and then the
 * services enabled on the host (the shim's `enable`, systemd's meaning), in the profile's order.
 * Open connections to a stopped host are reset rather than left hanging; `pef lab partition`
 * is the silent kind of fault.
 */
import { readFileSync } from 'node:fs';
import { PefError } from '../errors/pef-error.js';
import { LAB_SERVICES, labPaths } from './lab-layout.js';
import { cmdline, isAlive, namespaceOf, processesInNamespace } from './lab-procfs.js';
import { check, runScriptInHost } from './lab-process.js';
import type { LabHostState, LabState } from './lab-state.js';
import { acquireLabLock, readLabState, writeLabState } from './lab-state.js';

/** What stop or start did to one host. */
export interface LabPowerResult {
  host: string;
  /** False when the host already was in the asked state. */
  changed: boolean;
  /** Services running after `start`. */
  started?: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function parentOf(pid: number): number | undefined {
  try {
    return Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

// The host's processes, except its init and the idle `sleep` init waits on (holder.sh's loop).
function hostProcesses(initPid: number): number[] {
  const ns = namespaceOf(initPid, 'mnt');
  if (ns === undefined) return [];
  return processesInNamespace(ns).filter(
    (pid) => pid !== initPid && !(parentOf(pid) === initPid && cmdline(pid)?.[0] === 'sleep'),
  );
}

async function withState<T>(dir: string | undefined, fn: (state: LabState) => Promise<T>): Promise<T> {
  const paths = labPaths(dir);
  const release = await acquireLabLock(paths, 60_000);
  try {
    const state = await readLabState(paths);
    if (state === undefined) {
      throw new PefError('pef/lab-error', `no lab in ${paths.dir}; start one with \`pef lab up\` (or pass --dir)`, {
        dir: paths.dir,
      });
    }
    const result = await fn(state);
    await writeLabState(paths, state);
    return result;
  } finally {
    await release();
  }
}

function hostIn(state: LabState, name: string): LabHostState {
  const host = state.hosts.find((h) => h.name === name || h.fqdn === name || h.address === name);
  if (host === undefined) {
    throw new PefError(
      'pef/usage-error',
      `no lab host '${name}'; the lab has ${state.hosts.map((h) => h.name).join(', ')}`,
      {
        host: name,
      },
    );
  }
  if (!isAlive(host.initPid)) {
    throw new PefError(
      'pef/lab-error',
      `lab host ${host.fqdn} is gone (its holder died); \`pef lab up\` rebuilds the lab`,
      {
        host: name,
      },
    );
  }
  return host;
}

/** Cuts the power of one lab host; see the file comment. */
export async function labStop(name: string, options: { dir?: string } = {}): Promise<LabPowerResult> {
  return withState(options.dir, async (state) => {
    const host = hostIn(state, name);
    const victims = hostProcesses(host.initPid);
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    for (let waited = 0; hostProcesses(host.initPid).length > 0; waited += 100) {
      if (waited >= 15_000) {
        throw new PefError(
          'pef/lab-error',
          `processes of ${host.fqdn} survived SIGKILL for 15 s: ${hostProcesses(host.initPid).join(', ')}`,
        );
      }
      await sleep(100);
    }
    const changed = host.stopped !== true || victims.length > 0;
    host.stopped = true;
    return { host: host.name, changed };
  });
}

// Boot: after a power cut the tmpfs dirs start empty; then sshd and every enabled service, in order.
function bootScript(services: readonly string[], afterPowerCut: boolean): string {
  return `set -u
${afterPowerCut ? 'find /run /tmp /dev/shm -mindepth 1 -delete 2>/dev/null\ninstall -d -m 1777 /run/lock' : ''}
failed=''
for s in ${services.join(' ')}; do
  if [ "$s" = sshd ] || pef-lab-service is-enabled "$s" >/dev/null 2>&1; then
    pef-lab-service start "$s" || failed="$failed $s"
  fi
done
for s in ${services.join(' ')}; do pef-lab-service status "$s" >/dev/null 2>&1 && echo "running $s"; done
[ -z "$failed" ] || { echo "failed to start:$failed" >&2; exit 1; }`;
}

/** Boots `host` of `state` (the caller holds the lab lock and writes the state); returns what runs. */
export async function bootHost(state: LabState, host: LabHostState): Promise<string[]> {
  const out = check(
    await runScriptInHost(host.initPid, bootScript(LAB_SERVICES[state.profile], host.stopped === true), [], {
      timeoutMs: 900_000,
    }),
    `booting ${host.fqdn}`,
    { host: host.name },
  );
  delete host.stopped;
  return out.stdout
    .split('\n')
    .filter((l) => l.startsWith('running '))
    .map((l) => l.slice('running '.length));
}

/** Boots one lab host again; see the file comment. Starting a running host only starts what is missing. */
export async function labStart(name: string, options: { dir?: string } = {}): Promise<LabPowerResult> {
  return withState(options.dir, async (state) => {
    const host = hostIn(state, name);
    const changed = host.stopped === true;
    const started = await bootHost(state, host);
    return { host: host.name, changed, started };
  });
}
