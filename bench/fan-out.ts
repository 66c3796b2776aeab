/**
 * Fan-out: one trivial task (`echo x`) over every target of a fleet of loopback sshd aliases,
 * through `runTask` exactly as `pef task run` does it (pool, executor, one connection per
 * target), against `ansible bench -f <same concurrency> -m raw -a 'echo x'` over the same
 * aliases and the handshake floor (targets × one connection's cost ÷ cores, measured in this
 * run). The sshd logs count the connections each run opened: pef must open exactly one per
 * target.
 */
import { availableParallelism } from 'node:os';
import { DEFAULT_CONCURRENCY } from '../src/executor/executor.js';
import type { Target } from '../src/inventory/target.js';
import { runTask } from '../src/task/run-task.js';
import { SshConnection } from '../src/transport/ssh/ssh-connection.js';
import type { SshdFleet } from '../test/helpers/sshd.js';
import { ansibleWorkspace } from './ansible.js';
import { BENCH_COMMAND, benchEcho, benchRuntime } from './bench-runtime.js';
import type { Cleanup } from './cleanup.js';
import { ownCpuMs, reapedChildrenCpuMs } from './cpu.js';
import { measureHandshake, settled } from './handshake.js';
import { formatMs, times, type Row } from './report.js';
import { single, summarize } from './stats.js';

/** Options of benchFanOut. */
export interface FanOutOptions {
  /** pef concurrencies to run, in order; the first one is also ansible's `-f` (default [100]). */
  concurrencies?: number[];
  /** Sequential connections timed for the floor (default 10). */
  handshakeRounds?: number;
  /** Run the ansible baseline (default true). */
  ansible?: boolean;
  /** Goals: pef ≥ this many times faster than ansible (default 3) and ≤ this × the floor (default 1.5). */
  goalVsAnsible?: number;
  goalVsFloor?: number;
}

/** Times the fan-out; see the file comment. */
export async function benchFanOut(cleanup: Cleanup, fleet: SshdFleet, options: FanOutOptions = {}): Promise<Row[]> {
  const concurrencies = options.concurrencies ?? [100];
  const goalVsAnsible = options.goalVsAnsible ?? 3;
  const goalVsFloor = options.goalVsFloor ?? 1.5;
  const cores = availableParallelism();
  const n = fleet.hosts.length;
  const section = `Fan-out: one task over ${n} loopback targets (${fleet.instances.length} sshd, ${cores} cores)`;
  const targets: Target[] = fleet.hosts.map((host, i) =>
    fleet.target(host, { connectTimeout: 10 }, `t${String(i + 1).padStart(3, '0')}`),
  );
  const first = fleet.instances[0];
  const probe = targets[0];
  if (first === undefined || probe === undefined)
    throw new RangeError('benchFanOut() needs a fleet with at least one host');

  const handshake = await measureHandshake(first, probe, options.handshakeRounds ?? 10);
  const floorWall = (n * handshake.wall.median) / cores;
  const floorCpu = (n * handshake.cpuMs) / cores;
  const serverCpu = (): number => fleet.instances.reduce((sum, s) => sum + reapedChildrenCpuMs(s.pid), 0);
  const settleAll = (): Promise<unknown> => Promise.all(fleet.instances.map((s) => settled(s)));

  interface PefRun {
    concurrency: number;
    ms: number;
    closeMs: number;
    opened: number;
    failed: string[];
    clientCpuMs: number;
    serverCpuMs: number;
    /** Connections whose persistent shell did not start, so commands went over exec channels. */
    execFallbacks: number;
  }
  const pefRuns: PefRun[] = [];
  const runPef = async (concurrency: number): Promise<void> => {
    await settleAll();
    const before = await fleet.connectionCount();
    const server0 = serverCpu();
    const client0 = ownCpuMs();
    const { runtime, pool } = benchRuntime(concurrency);
    const close = cleanup.add(`pef pool (fan-out ${concurrency})`, () => runtime.close());
    const t0 = performance.now();
    const results = await runTask(runtime, benchEcho, targets, {});
    const ms = performance.now() - t0;
    // Cached connections only (a failed target's would be retried, i.e. opened again).
    const okTargets = targets.filter((t) => results.find(t.name)?.status === 'success');
    const conns = await Promise.all(okTargets.map((t) => pool.get(t)));
    const execFallbacks = conns.filter((c) => c instanceof SshConnection && c.mode === 'exec').length;
    const t1 = performance.now();
    await close();
    const closeMs = performance.now() - t1;
    const clientCpuMs = ownCpuMs() - client0;
    await settleAll();
    const serverCpuMs = serverCpu() - server0;
    const opened = (await fleet.connectionCount()) - before;
    const failed = results.errorSet().map((r) => `${r.target}: ${r.error?.kind ?? ''} ${r.error?.msg ?? ''}`);
    pefRuns.push({ concurrency, ms, closeMs, opened, failed, clientCpuMs, serverCpuMs, execFallbacks });
  };

  let ansible: { ms: number; note: string } | undefined;
  const forks = concurrencies[0] ?? 100;
  // pef, then ansible, then pef again at the same concurrency, so drift in the machine's load
  // shows up as a spread instead of favouring one side.
  await runPef(forks);
  if (options.ansible ?? true) {
    await settleAll();
    const server0 = serverCpu();
    const ws = await ansibleWorkspace(
      cleanup,
      fleet.hosts.map((host) => ({
        host,
        port: fleet.port,
        user: 'root',
        privateKeyPath: fleet.privateKeyPath,
        knownHostsFile: fleet.knownHostsFile,
      })),
    );
    try {
      const run = await ws.adhoc(BENCH_COMMAND, forks, 300_000);
      const ok = (run.stdout.match(/^\S+ \| CHANGED \| rc=0 >>/gm) ?? []).length;
      await ws.close();
      await settleAll();
      const cpu = run.cpuMs + serverCpu() - server0;
      ansible = {
        ms: run.ms,
        note:
          `${ok}/${n} hosts ok (exit ${run.code}); CPU ${formatMs(cpu)} (${(cpu / n).toFixed(0)} ms a target; ansible and its ssh clients ${formatMs(run.cpuMs)}, ` +
          `sshd ${formatMs(cpu - run.cpuMs)}; not counting the ControlPersist masters), ${percent(cpu / (run.ms * cores))} of ${cores} cores` +
          (ok === n ? '' : `\n${run.stdout.slice(-1500)}${run.stderr.slice(-1500)}`),
      };
    } finally {
      await ws.close();
    }
  }
  for (const c of concurrencies.slice(1)) await runPef(c);
  await runPef(forks);

  const rows: Row[] = [
    {
      section,
      label: `handshake floor (CPU): ${n} × ${formatMs(handshake.cpuMs)} ÷ ${cores} cores`,
      stats: single(floorCpu),
      ratio: '1×',
      note: `one connection = connect + auth + first command (starts the persistent shell) + close; CPU of pef ${formatMs(handshake.clientCpuMs)} + sshd ${formatMs(handshake.serverCpuMs)}, averaged over ${handshake.wall.n} sequential connections`,
    },
    {
      section,
      label: `handshake floor (wall): ${n} × ${formatMs(handshake.wall.median)} ÷ ${cores} cores`,
      stats: single(floorWall),
      ratio: `${times(floorWall / floorCpu)} CPU floor`,
      note: `median wall time of ${handshake.wall.n} sequential connections (min ${formatMs(handshake.wall.min)}, max ${formatMs(handshake.wall.max)}); far above their CPU time: a lone connection mostly waits (sshd forking and re-executing itself, round trips, a ~40 ms Nagle stall when the shell starts, other users' processes), and concurrent connections overlap those waits, so this "floor" can be beaten`,
    },
  ];
  if (ansible !== undefined) {
    rows.push({
      section,
      label: `ansible -f ${forks} -m raw -a 'echo x' (whole run)`,
      stats: single(ansible.ms),
      ratio: `${times(ansible.ms / floorWall)} wall floor, ${times(ansible.ms / floorCpu)} CPU floor`,
      note: ansible.note,
    });
  }
  const byConcurrency = new Map<number, PefRun[]>();
  for (const run of pefRuns) byConcurrency.set(run.concurrency, [...(byConcurrency.get(run.concurrency) ?? []), run]);
  for (const [concurrency, runs] of byConcurrency) {
    const stats = summarize(runs.map((r) => r.ms));
    const problems = runs.flatMap((r) => [
      ...(r.opened === n ? [] : [`opened ${r.opened} connections for ${n} targets`]),
      ...(r.failed.length === 0 ? [] : [`${r.failed.length} targets failed, e.g. ${r.failed.slice(0, 3).join('; ')}`]),
      ...(r.execFallbacks === 0 ? [] : [`${r.execFallbacks} connections fell back to exec channels`]),
    ]);
    const vsFloor = stats.median / floorWall;
    const vsAnsible = ansible === undefined ? undefined : ansible.ms / stats.median;
    const runNotes = runs.map((r) => {
      const cpu = r.clientCpuMs + r.serverCpuMs;
      return `${formatMs(r.ms)} (+ ${formatMs(r.closeMs)} to close), ${r.opened} connections, CPU ${(cpu / n).toFixed(0)} ms a target (pef ${(r.clientCpuMs / n).toFixed(0)} + sshd ${(r.serverCpuMs / n).toFixed(0)}), ${percent(cpu / (r.ms * cores))} of ${cores} cores`;
    });
    rows.push({
      section,
      label: `pef runTask, concurrency ${concurrency}${concurrency === DEFAULT_CONCURRENCY ? ' (default)' : ''}`,
      stats,
      ratio: `${times(vsFloor)} wall floor, ${times(stats.median / floorCpu)} CPU floor${vsAnsible === undefined ? '' : `, ${times(vsAnsible)} faster than ansible`}`,
      ...(concurrency === forks
        ? {
            goal: {
              text: `≤ ${goalVsFloor}× wall floor${vsAnsible === undefined ? '' : `, ≥ ${goalVsAnsible}× faster than ansible`}, 1 connection a target`,
              met:
                vsFloor <= goalVsFloor &&
                (vsAnsible === undefined || vsAnsible >= goalVsAnsible) &&
                problems.length === 0,
            },
          }
        : {}),
      note: `${runNotes.join('; ')}${problems.length ? `; PROBLEMS: ${problems.join('; ')}` : '; every target ok, one connection each'}`,
    });
  }
  return rows;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(0)} %`;
}
