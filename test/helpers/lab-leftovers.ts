/**
 * What a lab may leave behind on the machine (listening sockets, processes in its hosts'
 * namespaces, holders, mounts that name its state dir) and how its sockets are bound while up.
 * The lab proof tests assert both.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { runCommand } from '../../src/lab/lab-process.js';
import { labStatus } from '../../src/lab/lab-status.js';
import { findHolders, namespaceOf, processesInNamespace } from '../../src/lab/lab-procfs.js';
import type { LabInfo } from './lab.js';

/** Listening TCP sockets as [address, pid] (pid of the owning process, from `ss -p`). */
export async function listeners(): Promise<{ address: string; pid: number }[]> {
  const out = await runCommand(['ss', '-Hltnp']);
  return out.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => ({
      address: (l.trim().split(/\s+/)[3] ?? '').replace(/^\[::ffff:(.*)\]/, '$1'),
      pid: Number(/pid=(\d+)/.exec(l)?.[1] ?? 0),
    }));
}

/** The mount namespaces of a lab's hosts, read while the lab is up. */
export function labNamespaces(lab: LabInfo): string[] {
  return lab.hosts.map((h) => namespaceOf(h.initPid, 'mnt')).filter((n): n is string => n !== undefined);
}

/** Everything of the lab still on the machine; all lists empty once it is down. */
export async function labLeftovers(
  lab: LabInfo,
  namespaces: readonly string[],
  addressPrefix: string,
): Promise<Record<string, unknown[]>> {
  const mounts = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/mountinfo`, 'utf8').includes(lab.dir);
      } catch {
        return false;
      }
    });
  return {
    processes: namespaces.flatMap((ns) => processesInNamespace(ns)),
    holders: findHolders(lab.dir),
    listeners: (await listeners()).filter((l) => l.address.startsWith(`${addressPrefix}.`)),
    mounts,
  };
}

/**
 * The lab's sockets while it is up: every listening socket of a lab process with the address of
 * its own host, and the peers of lab connections that are outside 127.0.0.0/8 (should be none).
 */
export async function labSockets(
  dir: string,
): Promise<{ listening: { address: string; own: string | undefined }[]; outside: string[] }> {
  const status = await labStatus({ dir });
  const hostOf = new Map(status.hosts.map((h) => [namespaceOf(h.initPid ?? 0, 'mnt'), h.address]));
  const listening = (await listeners())
    .filter((l) => hostOf.has(namespaceOf(l.pid, 'mnt')))
    .map((l) => ({ address: l.address.replace(/:\d+$/, ''), own: hostOf.get(namespaceOf(l.pid, 'mnt')) }));
  const tcp = await runCommand(['ss', '-Htanp']);
  const outside = tcp.stdout
    .split('\n')
    .filter((l) => hostOf.has(namespaceOf(Number(/pid=(\d+)/.exec(l)?.[1] ?? 0), 'mnt')))
    .map((l) => (l.trim().split(/\s+/)[4] ?? '').replace(/^\[::ffff:(.*)\]/, '$1'))
    .filter((peer) => peer !== '*:*' && peer !== '0.0.0.0:*' && !peer.startsWith('127.') && !peer.startsWith('[::]'));
  return { listening, outside };
}
