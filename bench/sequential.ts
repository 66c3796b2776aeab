/**
 * 100 small commands, one after another, on one SSH target:
 *   - the floor: a raw persistent `sh` on one node-ssh channel running `( echo x )` per command
 *     (a round trip and one fork, see raw-shell.ts); pef's goal is to stay within 1.25× of it;
 *   - pef: one pooled connection, commands through its persistent shell channel, and the same
 *     through `runTask` (executor, params, task context) with a one-command task; and, for
 *     scale, a few commands through exec channels (pef's fallback mode, a session each);
 *   - ssh with a ControlMaster started beforehand (`-M -S sock -o ControlPersist`), then one
 *     `ssh -S sock host cmd` process per command (the baseline of the goal);
 *   - plain ssh, a new connection per command (a few runs, for scale);
 *   - ansible-playbook with 100 `raw` tasks (stock ControlPersist), and with 1 task to show
 *     its fixed start-up cost.
 * Both warm figures (pef connection open, master started) exclude the one-time connect, which
 * is reported on its own.
 */
import { join } from 'node:path';
import { runTask } from '../src/task/run-task.js';
import { SshTransport } from '../src/transport/ssh-transport.js';
import type { Connection } from '../src/transport/transport.js';
import type { Sshd } from '../test/helpers/sshd.js';
import { ansibleWorkspace, recapOf } from './ansible.js';
import { FLOOR_COMMAND, openRawShell } from './raw-shell.js';
import { BENCH_COMMAND, benchEcho, benchRuntime } from './bench-runtime.js';
import type { Cleanup } from './cleanup.js';
import { sshArgs, startControlMaster, type SshEndpoint } from './openssh.js';
import { times, type Row } from './report.js';
import { single, summarize } from './stats.js';
import { timedSpawn } from './timed-spawn.js';

/** Options of benchSequential. */
export interface SequentialOptions {
  /** Commands per batch (default 100). */
  commands?: number;
  /** Timed batches through pef's pool, each paired with a floor batch (default 9). */
  pefRounds?: number;
  /** Timed batches through ssh + ControlMaster, in turns with pef's (default 3). */
  muxRounds?: number;
  /** Plain ssh runs, a new connection each (default 10). */
  plainSshRuns?: number;
  /** Commands timed through exec channels, pef's fallback mode (default 20). */
  execRuns?: number;
  /** Run the ansible baseline (default true). */
  ansible?: boolean;
  /** Goal: pef's median batch at most this many times the raw-shell floor's (default 1.25). */
  floorGoal?: number;
  /** What the target's sessions are like, for the section title. */
  variant?: string;
}

/** Times the sequential commands; see the file comment. */
export async function benchSequential(cleanup: Cleanup, sshd: Sshd, options: SequentialOptions = {}): Promise<Row[]> {
  const count = options.commands ?? 100;
  const rounds = options.pefRounds ?? 9;
  const muxRounds = Math.min(options.muxRounds ?? 3, rounds);
  const floorGoal = options.floorGoal ?? 1.25;
  const SECTION = `${count} sequential commands on one target${options.variant === undefined ? '' : `, ${options.variant}`}`;
  const target = sshd.target({ connectTimeout: 10 }, 'seq');
  const endpoint: SshEndpoint = {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKeyPath: sshd.privateKeyPath,
    knownHostsFile: sshd.knownHostsFile,
  };
  const connectionsBefore = await sshd.connectionCount();

  // pef straight through the pool and its persistent channel, the raw-shell floor, and ssh
  // through a ControlMaster, batch after batch in turns, so all see the same load.
  const { runtime, pool } = benchRuntime(1);
  const closePef = cleanup.add('pef pool (sequential)', () => runtime.close());
  const perCommand: number[] = [];
  const batches: number[] = [];
  const perMux: number[] = [];
  const muxBatches: number[] = [];
  const perFloor: number[] = [];
  const floorBatches: number[] = [];
  const raw = await openRawShell(cleanup, target);
  const master = await startControlMaster(cleanup, endpoint, join(sshd.dir, 'bench-cm.sock'));
  let firstBatch: number;
  let connectMs: number;
  try {
    const t0 = performance.now();
    const conn = await pool.get(target);
    await expectX(conn, 'pef');
    connectMs = performance.now() - t0;
    for (let i = 1; i < count; i++) await expectX(conn, 'pef');
    firstBatch = performance.now() - t0;
    const mux = sshArgs(endpoint, ['-S', master.socket, '-o', 'ControlMaster=no']);
    for (let i = 0; i < 3; i++) await sshX(cleanup, [...mux, BENCH_COMMAND], 'ssh+CM');
    for (let i = 0; i < count; i++) await raw.once();
    for (let r = 0; r < rounds; r++) {
      let start = performance.now();
      for (let i = 0; i < count; i++) perFloor.push(await raw.once());
      floorBatches.push(performance.now() - start);
      start = performance.now();
      for (let i = 0; i < count; i++) {
        const s = performance.now();
        await expectX(await pool.get(target), 'pef');
        perCommand.push(performance.now() - s);
      }
      batches.push(performance.now() - start);
      if (r >= muxRounds) continue;
      start = performance.now();
      for (let i = 0; i < count; i++) perMux.push(await sshX(cleanup, [...mux, BENCH_COMMAND], 'ssh+CM'));
      muxBatches.push(performance.now() - start);
    }
  } finally {
    await master.stop();
    await raw.close();
  }

  // pef through runTask: the path a task's command takes from the CLI.
  const perTask: number[] = [];
  let taskBatch: number;
  {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const s = performance.now();
      const results = await runTask(runtime, benchEcho, [target], {});
      if (!results.ok) throw new Error(`runTask failed: ${JSON.stringify(results.toJSON().items[0]?.error)}`);
      perTask.push(performance.now() - s);
    }
    taskBatch = performance.now() - start;
  }
  await closePef();
  // The ControlMaster and the raw floor shell opened one each; ssh+CM's clients open none.
  const pefConnections = (await sshd.connectionCount()) - connectionsBefore - 2;

  // pef's fallback: an exec channel (a new session on the host) per command.
  const perExec: number[] = [];
  {
    const conn = await new SshTransport({ commandMode: 'exec' }).connect(target);
    const close = cleanup.add('pef exec-mode connection', () => conn.close());
    try {
      for (let i = 0; i < 3; i++) await expectX(conn, 'pef exec');
      for (let i = 0; i < (options.execRuns ?? 20); i++) {
        const s = performance.now();
        await expectX(conn, 'pef exec');
        perExec.push(performance.now() - s);
      }
    } finally {
      await close();
    }
  }

  // Plain ssh: a handshake per command.
  const perPlain: number[] = [];
  const plain = sshArgs(endpoint, ['-o', 'ControlMaster=no', '-o', 'ControlPath=none']);
  for (let i = 0; i < (options.plainSshRuns ?? 10); i++)
    perPlain.push(await sshX(cleanup, [...plain, BENCH_COMMAND], 'plain ssh'));

  const pefMedian = summarize(batches).median;
  const muxMedian = summarize(muxBatches).median;
  const floorMedian = summarize(floorBatches).median;
  // The goal is judged on the median of the per-turn ratios: a floor batch and the pef batch
  // right after it see nearly the same load, which on a shared machine swings between turns.
  const turnRatios = floorBatches.map((f, i) => (batches[i] ?? NaN) / f);
  const turnMedian = summarize(turnRatios).median;
  const rows: Row[] = [
    {
      section: SECTION,
      label: `floor: raw persistent sh, ${count} × \`${FLOOR_COMMAND}\` on one channel`,
      stats: summarize(floorBatches),
      ratio: '1×',
    },
    {
      section: SECTION,
      label: `pef pool, ${count} commands on one open connection`,
      stats: summarize(batches),
      ratio: `${times(turnMedian)} the floor (median per-turn ratio; ratio of medians ${times(pefMedian / floorMedian)})`,
      goal: { text: `≤ ${floorGoal}× the subshell floor`, met: turnMedian <= floorGoal },
      note: `batches of the floor, pef and ssh+CM in turns, after a warm-up batch of each; per-turn pef/floor ratios ${turnRatios.map((r) => times(r)).join(', ')}`,
    },
    {
      section: SECTION,
      label: `ssh + ControlMaster, ${count} × \`ssh -S sock\``,
      stats: summarize(muxBatches),
      ratio: `${times(muxMedian / pefMedian)} slower than pef (information)`,
      note: `per-turn ssh+CM/pef ratios ${muxBatches.map((m, i) => times(m / (batches[i] ?? NaN))).join(', ')}`,
    },
    {
      section: SECTION,
      label: `pef runTask, ${count} one-command task runs`,
      stats: single(taskBatch),
      ratio: `${times(taskBatch / floorMedian)} the floor, ${times(muxMedian / taskBatch)} faster than ssh+CM`,
    },
    {
      section: SECTION,
      label: `pef pool, connect + ${count} commands (first batch)`,
      stats: single(firstBatch),
      ratio: `${times((master.startMs + muxMedian) / firstBatch)} faster than ssh+CM incl. master start`,
      note: `connection ${connectionsOpened(pefConnections)} to sshd for all ${rounds + 1} batches and the ${count} task runs; connect + shell start + first command took ${connectMs.toFixed(0)} ms, the ControlMaster start ${master.startMs.toFixed(0)} ms`,
    },
  ];

  if (options.ansible ?? true) {
    const ansible = await ansibleWorkspace(cleanup, [endpoint]);
    try {
      const one = await ansible.playbook(BENCH_COMMAND, 1, 120_000);
      checkRecap(one.code, one.stdout, 1);
      const many = await ansible.playbook(BENCH_COMMAND, count, 240_000);
      checkRecap(many.code, many.stdout, count);
      rows.push({
        section: SECTION,
        label: `ansible-playbook, ${count} raw tasks (whole run)`,
        stats: single(many.ms),
        ratio: `${times(many.ms / firstBatch)} slower than pef incl. connect`,
        note: `ansible-playbook with 1 raw task took ${one.ms.toFixed(0)} ms (start-up + connect); each further task costs ≈ ${((many.ms - one.ms) / Math.max(count - 1, 1)).toFixed(0)} ms`,
      });
    } finally {
      await ansible.close();
    }
  }

  const floorPer = summarize(perFloor).median;
  rows.push(
    { section: SECTION, label: 'per command: floor (raw sh, subshell)', stats: summarize(perFloor), ratio: '1×' },
    {
      section: SECTION,
      label: 'per command: pef pool',
      stats: summarize(perCommand),
      ratio: `${times(summarize(perCommand).median / floorPer)} the floor, ${times(summarize(perMux).median / summarize(perCommand).median)} faster than ssh+CM`,
    },
    {
      section: SECTION,
      label: 'per command: pef runTask',
      stats: summarize(perTask),
      ratio: `${times(summarize(perTask).median / floorPer)} the floor, ${times(summarize(perMux).median / summarize(perTask).median)} faster than ssh+CM`,
    },
    {
      section: SECTION,
      label: 'per command: ssh + ControlMaster',
      stats: summarize(perMux),
      ratio: `${times(summarize(perMux).median / floorPer)} the floor`,
    },
    {
      section: SECTION,
      label: 'per command: pef exec channel (fallback mode)',
      stats: summarize(perExec),
      ratio: `${times(summarize(perExec).median / summarize(perMux).median)} ssh+CM`,
    },
    {
      section: SECTION,
      label: 'per command: plain ssh (new connection)',
      stats: summarize(perPlain),
      ratio: `${times(summarize(perPlain).median / summarize(perMux).median)} ssh+CM`,
    },
  );
  return rows;
}

async function expectX(conn: Connection, who: string): Promise<void> {
  const out = await conn.run(BENCH_COMMAND);
  if (out.exitCode !== 0 || out.stdout !== 'x\n')
    throw new Error(
      `${who}: \`${BENCH_COMMAND}\` gave exit ${out.exitCode}, ${JSON.stringify(out.stdout)} ${out.stderr}`,
    );
}

async function sshX(cleanup: Cleanup, args: readonly string[], who: string): Promise<number> {
  const run = await timedSpawn(cleanup, 'ssh', args, { timeoutMs: 30_000 });
  if (run.code !== 0 || run.stdout !== 'x\n')
    throw new Error(`${who}: exit ${run.code}, ${JSON.stringify(run.stdout)} ${run.stderr.trim()}`);
  return run.ms;
}

function checkRecap(code: number | null, stdout: string, tasks: number): void {
  const recap = recapOf(stdout, 't001');
  if (code !== 0 || recap === undefined || recap.changed !== tasks || recap.failed !== 0 || recap.unreachable !== 0) {
    throw new Error(`ansible-playbook with ${tasks} raw tasks failed (exit ${code}):\n${stdout.slice(-2000)}`);
  }
}

function connectionsOpened(n: number): string {
  return n === 1 ? 'opened once' : `opened ${n} times (expected 1)`;
}
