/**
 * Cold start: `pef --version` and `pef task list` as fresh processes, against `node -e 0`
 * (Node's own start-up) and the import cost of zod and commander, all interleaved round-robin
 * so load from other users of the machine hits every command alike.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { times, type Row } from './report.js';
import { clockTickMs } from './cpu.js';
import { summarize } from './stats.js';
import { timedSpawn } from './timed-spawn.js';

/** Options of benchColdStart. */
export interface ColdStartOptions {
  /** The repository root (bin/pef.js, node_modules). */
  root: string;
  /** Timed runs per command (default 20), after 2 untimed warm-up runs each. */
  runs?: number;
  /** Cold start goal in ms (default 250). */
  goalMs?: number;
}

interface Probe {
  label: string;
  args: string[];
  /** Run from the repo root (to resolve node_modules) instead of an empty temp dir. */
  inRoot?: boolean;
  check?: (stdout: string) => boolean;
}

/** Times the cold starts; see the file comment. */
export async function benchColdStart(cleanup: Cleanup, options: ColdStartOptions): Promise<Row[]> {
  const runs = options.runs ?? 20;
  const goalMs = options.goalMs ?? 250;
  const bin = join(options.root, 'bin', 'pef.js');
  const probes: Probe[] = [
    { label: 'node -e 0 (baseline)', args: ['-e', '0'] },
    { label: 'pef --version', args: [bin, '--version'], check: (s) => /^\d+\.\d+\.\d+/.test(s) },
    { label: 'pef task list', args: [bin, 'task', 'list'], check: (s) => s.includes('check_connection') },
    { label: 'node: import commander', args: ['--input-type=module', '-e', "await import('commander')"], inRoot: true },
    { label: 'node: import zod', args: ['--input-type=module', '-e', "await import('zod')"], inRoot: true },
  ];
  // An empty cwd: no pef config or inventory is found, as on a fresh checkout.
  const cwd = await mkdtemp(join(tmpdir(), 'pef-bench-cwd-'));
  const env = { ...process.env, CI: 'true', NODE_OPTIONS: '' };
  const samples = probes.map(() => [] as number[]);
  const cpu = probes.map(() => [] as number[]);
  try {
    for (let round = -2; round < runs; round++) {
      for (const [i, probe] of probes.entries()) {
        const run = await timedSpawn(cleanup, process.execPath, probe.args, {
          cwd: probe.inRoot ? options.root : cwd,
          env,
          timeoutMs: 30_000,
        });
        if (run.code !== 0 || (probe.check !== undefined && !probe.check(run.stdout))) {
          throw new Error(
            `${probe.label} failed (exit ${run.code}): ${run.stderr.slice(-1000)}${run.stdout.slice(-500)}`,
          );
        }
        if (round >= 0) {
          samples[i]?.push(run.ms);
          cpu[i]?.push(run.cpuMs);
        }
      }
    }
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
  const section = 'Cold start (fresh process)';
  const wall = probes.map((p, i) => ({ probe: p, stats: summarize(samples[i] ?? []) }));
  const cpuStats = probes.map((p, i) => ({ probe: p, stats: summarize(cpu[i] ?? []) }));
  const rows: Row[] = [];
  for (const [kind, list] of [
    ['wall', wall],
    ['CPU', cpuStats],
  ] as const) {
    const [base, ...rest] = list;
    if (base === undefined) continue;
    rows.push({ section, label: `${kind}: ${base.probe.label}`, stats: base.stats, ratio: '1×' });
    for (const { probe, stats } of rest) {
      const over = stats.median - base.stats.median;
      const goal =
        kind === 'wall' && probe.label.startsWith('pef')
          ? { goal: { text: `≤ ${goalMs} ms`, met: stats.median <= goalMs } }
          : {};
      rows.push({
        section,
        label: `${kind}: ${probe.label}`,
        stats,
        ratio: `${times(stats.median / base.stats.median)} node -e 0 (+${over.toFixed(0)} ms)`,
        ...goal,
      });
    }
  }
  const cpuBase = rows.find((r) => r.label.startsWith('CPU: '));
  if (cpuBase !== undefined)
    cpuBase.note = `CPU = user + system time of the process, from this process's cutime/cstime (${tickNote()}); it barely depends on other users' load, wall time does`;
  return rows;
}

function tickNote(): string {
  return `${clockTickMs()} ms resolution`;
}
