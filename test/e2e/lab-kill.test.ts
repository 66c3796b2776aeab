/**
 * A `pef lab up` killed half-way (SIGKILL, by pid) leaves holders running; `pef lab down` must
 * still remove everything, and a new `up` must clear the stale state by itself. Uses a cheap
 * partial lab (hosts and sshd only) on 127.0.11.0/24, next to the shared lab on 127.0.10.0/24.
 */
import { describe, it, expect, afterEach } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { labSupported } from '../helpers/lab.js';
import { labUp } from '../../src/lab/lab-up.js';
import { labDown } from '../../src/lab/lab-down.js';
import { readLabState } from '../../src/lab/lab-state.js';
import { labPaths } from '../../src/lab/lab-layout.js';
import { runCommand } from '../../src/lab/lab-process.js';
import { findHolders, isAlive, namespaceOf, processesInNamespace } from '../../src/lab/lab-procfs.js';

const maybe = labSupported() ? describe : describe.skip;
const PREFIX = '127.0.11';
const repo = fileURLToPath(new URL('../../', import.meta.url));

// Starts `pef lab up` (the real CLI code, through the TS loader) in a child and SIGKILLs it as
// soon as its state file lists at least `hosts` started hosts. Returns the hosts' namespaces.
async function killUpMidway(dir: string, hosts: number): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      `${repo}test/helpers/lab-ts-loader.mjs`,
      `${repo}test/helpers/lab-cli.ts`,
      'up',
      '--dir',
      dir,
      '--stop-after',
      'ssh',
      '--address-prefix',
      PREFIX,
    ],
    { stdio: 'ignore', cwd: repo },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await readLabState(labPaths(dir));
    if ((state?.hosts.length ?? 0) >= hosts) break;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`lab up never started ${hosts} hosts in ${dir}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  process.kill(child.pid ?? 0, 'SIGKILL');
  await exited;
  const state = await readLabState(labPaths(dir));
  return (state?.hosts ?? []).map((h) => namespaceOf(h.initPid, 'mnt')).filter((n): n is string => n !== undefined);
}

async function expectNothingLeft(dir: string, namespaces: string[]): Promise<void> {
  for (const ns of namespaces) expect(processesInNamespace(ns)).toEqual([]);
  expect(findHolders(dir).filter((h) => isAlive(h.pid))).toEqual([]);
  const ss = await runCommand(['ss', '-Hltn']);
  expect(ss.stdout.split('\n').filter((l) => l.includes(`${PREFIX}.`))).toEqual([]);
  const mountedSomewhere = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((p) => {
      try {
        return readFileSync(`/proc/${p}/mountinfo`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    });
  expect(mountedSomewhere).toBe(false);
  expect(existsSync(dir)).toBe(false);
}

maybe('pef lab after a killed or failed up', () => {
  let dir = '';

  afterEach(async () => {
    await labDown({ dir }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('lab down removes the hosts a killed up left behind', async () => {
    dir = await mkdtemp('/tmp/pef-lab-kill-');
    const namespaces = await killUpMidway(dir, 1);
    expect(namespaces.length).toBeGreaterThanOrEqual(1);
    // The killed up really left a host running.
    expect(findHolders(dir).some((h) => h.isInit && isAlive(h.pid))).toBe(true);
    const result = await labDown({ dir });
    expect(result.removed).toBe(true);
    await expectNothingLeft(dir, namespaces);
  }, 120_000);

  it('lab up clears the stale state of a killed up and comes up', async () => {
    dir = await mkdtemp('/tmp/pef-lab-kill-');
    await killUpMidway(dir, 2);
    const staleInits = findHolders(dir)
      .filter((h) => h.isInit)
      .map((h) => h.pid);
    expect(staleInits.length).toBeGreaterThanOrEqual(1);
    const info = await labUp({ dir, stopAfter: 'ssh', addressPrefix: PREFIX });
    expect(info.reused).toBe(false);
    // Only the new hosts' holders are left (namespace ids are recycled, holder pids are checked).
    const inits = findHolders(dir)
      .filter((h) => h.isInit && isAlive(h.pid))
      .map((h) => h.pid)
      .sort();
    expect(inits).toEqual(info.hosts.map((h) => h.initPid).sort());
    for (const pid of staleInits) expect(inits).not.toContain(pid);
    const fresh = info.hosts.map((h) => namespaceOf(h.initPid, 'mnt')).filter((n): n is string => n !== undefined);
    expect(fresh).toHaveLength(3);
    const ss = await runCommand(['ss', '-Hltn']);
    expect(ss.stdout.split('\n').filter((l) => l.includes(`${PREFIX}.`)).length).toBe(3);
    await labDown({ dir });
    await expectNothingLeft(dir, fresh);
  }, 120_000);

  it('a failing up tears down the hosts it started and the dir it created', async () => {
    dir = `${await mkdtemp('/tmp/pef-lab-fail-')}/lab`;
    let started: number[] = [];
    const failure = labUp({
      dir,
      stopAfter: 'ssh',
      addressPrefix: PREFIX,
      onProgress: (line) => {
        // Fail half-way, once every holder is running.
        if (!line.startsWith('starting sshd')) return;
        started = findHolders(dir)
          .filter((h) => h.isInit)
          .map((h) => h.pid);
        throw new Error('injected failure');
      },
    });
    await expect(failure).rejects.toThrow('injected failure');
    expect(started).toHaveLength(3);
    for (const pid of started) expect(isAlive(pid)).toBe(false);
    await expectNothingLeft(dir, []);
    await rm(dirname(dir), { recursive: true, force: true });
  }, 120_000);
});
