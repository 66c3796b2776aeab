/**
 * `npm run bench`: cold start, sequential commands on one target, fan-out over many targets and
 * sync (a CA pass on a large CA; on a real lab: setup, CA RPO, PuppetDB lag), each against
 * baselines measured in the same run (node -e 0, ssh + ControlMaster, ansible, the handshake
 * floor, a whole-CA pass, the primary's own PuppetDB). Prints one table and writes it as Markdown
 * to dist/bench/last-run.md; docs/benchmarks.md quotes a representative run.
 *
 * Every sshd, ssh master, ansible process and lab it starts is stopped at the end, on failure
 * and on SIGINT/SIGTERM; a watchdog ends a run that takes far too long.
 *
 * Flags: --only cold,seq,fanout,sync   --runs N (cold start, default 20)   --commands N (default 100)
 *        --targets N (fan-out, default 200)   --concurrency 100[,16…] (first = ansible -f)
 *        --no-ansible   --no-login-rc (skip the sequential run with root's ~/.bashrc)
 *        --certs N (sync: the CA's size, default 10000)   --passes N (sync, default 5)
 *        --no-lab (sync: skip the lab part)   --lab-dir DIR (sync: an oss lab that is up; left up)
 *        --lab-prefix 127.0.N (sync: where the bench brings up its own lab, default 127.0.23)
 *        --signings N (CA RPO, default 20)   --agent-runs N (PuppetDB lag, default 20)
 *        --lab-parts setup,ca,puppetdb (sync: which lab measures, default all)
 *
 * Login shells: on this machine root's ~/.bashrc runs `pyenv init` in every new SSH session
 * (bash reads it when sshd starts it as a top-level shell), which makes every session cost
 * 0.1–0.3 s, and many concurrent sessions pile up on pyenv-rehash's lock until the machine is
 * saturated. So the sshd sessions skip it (`SetEnv SHLVL=1`), except in one extra sequential
 * run that shows what the per-session tools pay on such a host (never in the fan-out).
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loopbackRange, startSshd, startSshdFleet } from '../test/helpers/sshd.js';
import { Cleanup } from './cleanup.js';
import { benchCaPass } from './ca-pass.js';
import { benchColdStart } from './cold-start.js';
import { benchFanOut } from './fan-out.js';
import { formatMarkdown, formatTable, type Row } from './report.js';
import { benchSequential } from './sequential.js';
import { benchSyncLab } from './sync-lab.js';

// dist/bench/bench/run.js → the repository root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string', default: 'cold,seq,fanout,sync' },
    runs: { type: 'string', default: '20' },
    commands: { type: 'string', default: '100' },
    targets: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '100,16' },
    'no-ansible': { type: 'boolean', default: false },
    'no-login-rc': { type: 'boolean', default: false },
    certs: { type: 'string', default: '10000' },
    passes: { type: 'string', default: '5' },
    'no-lab': { type: 'boolean', default: false },
    'lab-dir': { type: 'string' },
    // Not the test suite's labs (127.0.10, 127.0.12) nor the bench's own sshd (127.0.21, 127.0.22).
    'lab-prefix': { type: 'string', default: '127.0.23' },
    'lab-parts': { type: 'string', default: 'setup,ca,puppetdb' },
    signings: { type: 'string', default: '20' },
    'agent-runs': { type: 'string', default: '20' },
  },
});

function positiveInt(name: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new RangeError(`--${name} must be an integer from 1 to ${max}, got "${value}"`);
  return n;
}

const only = new Set(flags.only.split(',').map((s) => s.trim()));
const runs = positiveInt('runs', flags.runs, 200);
const commands = positiveInt('commands', flags.commands, 10_000);
const targetCount = positiveInt('targets', flags.targets, 250);
const concurrencies = flags.concurrency.split(',').map((c) => positiveInt('concurrency', c, 1000));
const ansible = !flags['no-ansible'];
const certs = positiveInt('certs', flags.certs, 100_000);
const passes = positiveInt('passes', flags.passes, 50);
const lab = only.has('sync') && !flags['no-lab'];
const signings = positiveInt('signings', flags.signings, 1000);
const agentRuns = positiveInt('agent-runs', flags['agent-runs'], 1000);
if (!/^127\.0\.(1\d|2\d)$/.test(flags['lab-prefix']) || ['127.0.21', '127.0.22'].includes(flags['lab-prefix']))
  throw new RangeError(
    `--lab-prefix must be 127.0.10–127.0.29 other than the bench's 127.0.21 and 127.0.22, got "${flags['lab-prefix']}"`,
  );
const SKIP_LOGIN_RC = ['SetEnv SHLVL=1'];
// A lab takes minutes to come up, and a first setup restarts JVMs.
const WATCHDOG_MS = (lab ? 90 : 12) * 60_000;

const cleanup = new Cleanup();
cleanup.installSignalHandlers();
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${WATCHDOG_MS / 60_000} min, giving up\n`);
  void cleanup.runAll(5_000).finally(() => process.exit(1));
}, WATCHDOG_MS);

const machine = `${availableParallelism()} vCPU (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const started = new Date();
const load0 = loadavg();
const rows: Row[] = [];
const log = (text: string): void => void process.stderr.write(`bench: ${text}\n`);
let failed = false;

// Registers a server for teardown; one that finished starting after a signal is stopped at once.
async function own<T extends { stop(): Promise<void> }>(
  name: string,
  pids: readonly number[],
  server: T,
): Promise<() => Promise<void>> {
  if (cleanup.stopping) {
    await server.stop();
    throw new Error(`stopped ${name}: the bench is stopping`);
  }
  for (const pid of pids) cleanup.trackPid(pid);
  return cleanup.add(name, async () => {
    await server.stop();
    for (const pid of pids) cleanup.untrackPid(pid);
  });
}

try {
  log(`${machine}; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  if (only.has('cold')) {
    log(`cold start, ${runs} runs of each command…`);
    rows.push(...(await benchColdStart(cleanup, { root: ROOT, runs })));
  }
  if (only.has('seq')) {
    const variants = [
      { name: 'clean login shell', address: '127.0.22.1', extraConfig: SKIP_LOGIN_RC, ansible, muxRounds: 3 },
      // As this machine's root logs in: every new session pays for pyenv init; one at a time here.
      ...(flags['no-login-rc']
        ? []
        : [
            {
              name: "root's real ~/.bashrc (pyenv init)",
              address: '127.0.22.2',
              extraConfig: [],
              ansible: false,
              muxRounds: 1,
            },
          ]),
    ];
    for (const variant of variants) {
      log(`sequential: ${commands} commands on one target, ${variant.name}…`);
      const sshd = await startSshd({ addresses: [variant.address], extraConfig: variant.extraConfig });
      const stop = await own(`sshd ${sshd.pid}`, [sshd.pid], sshd);
      try {
        rows.push(
          ...(await benchSequential(cleanup, sshd, {
            commands,
            ansible: variant.ansible,
            variant: variant.name,
            muxRounds: variant.muxRounds,
            plainSshRuns: variant.ansible ? 10 : 5,
          })),
        );
      } finally {
        await stop();
      }
    }
  }
  if (only.has('fanout')) {
    log(`fan-out: starting sshd for ${targetCount} loopback addresses…`);
    const fleet = await startSshdFleet(loopbackRange('127.0.21', 1, targetCount), { extraConfig: SKIP_LOGIN_RC });
    const stop = await own(
      'sshd fleet',
      fleet.instances.map((s) => s.pid),
      fleet,
    );
    try {
      log(`fan-out over ${targetCount} targets, concurrency ${concurrencies.join(', ')}…`);
      rows.push(...(await benchFanOut(cleanup, fleet, { concurrencies, ansible })));
    } finally {
      await stop();
    }
  }
  if (only.has('sync')) {
    log(`sync: CA passes on a ${certs}-certificate CA, ${passes} of each kind…`);
    const sshd = await startSshd({ addresses: ['127.0.22.4'], extraConfig: SKIP_LOGIN_RC });
    const stop = await own(`sshd ${sshd.pid}`, [sshd.pid], sshd);
    try {
      rows.push(...(await benchCaPass(cleanup, sshd, { certs, passes })));
    } finally {
      await stop();
    }
  }
  if (lab) {
    const labDir = flags['lab-dir'] === undefined ? {} : { labDir: resolve(flags['lab-dir']) };
    const parts = new Set(flags['lab-parts'].split(',').map((p) => p.trim()));
    await benchSyncLab(
      cleanup,
      { root: ROOT, ...labDir, labPrefix: flags['lab-prefix'], parts, signings, agentRuns, log },
      rows,
    );
  }
} catch (error) {
  failed = true;
  process.stderr.write(`bench: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
} finally {
  await cleanup.runAll();
  clearTimeout(watchdog);
}

const load1 = loadavg();
const seconds = ((Date.now() - started.getTime()) / 1000).toFixed(0);
const header = [
  `pef bench, ${started.toISOString()}, ${seconds} s`,
  `machine: ${machine}`,
  `load average (1/5/15 min) at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')}`,
  "sshd sessions skip the login user's ~/.bashrc (SetEnv SHLVL=1), except where a section says otherwise",
  `command: npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  'Figures are wall times from this one run on a shared machine; compare the ratios against the same-run baselines.',
];
if (rows.length > 0) {
  process.stdout.write(`\n${header.join('\n')}\n\n${formatTable(rows)}\n`);
  const file = join(ROOT, 'dist', 'bench', 'last-run.md');
  await writeFile(file, `${header.map((h) => `${h}  `).join('\n')}\n\n${formatMarkdown(rows)}\n`);
  process.stdout.write(`\n(Markdown: ${file})\n`);
}
const missed = rows.filter((r) => r.goal !== undefined && !r.goal.met).map((r) => r.label);
if (missed.length > 0) process.stdout.write(`\nGoals missed: ${missed.join('; ')}\n`);
if (!process.exitCode) process.exitCode = failed ? 1 : 0;
