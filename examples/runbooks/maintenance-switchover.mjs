#!/usr/bin/env node
// maintenance-switchover.mjs: work on the primary without an outage. Switch to the replica, run a
// maintenance command on the old primary, check it is back, switch back.
//
//   node examples/runbooks/maintenance-switchover.mjs -i inventory.yaml [--command CMD]
//        [--services puppetserver,puppetdb] [--wait 600] [--command-timeout 1800] [--json] [--noop]
//
// 1. status: the pair must be healthy and --services running on the primary, else it refuses
//    (nothing changed).
// 2. switchover to the replica (`yes: true`: running this script is the confirmation).
// 3. --command on the old primary, over pef's own connection (the inventory's transport, user, key),
//    as a task defined here, killed after --command-timeout seconds. Default: the Puppet Server
//    package's version (harmless).
// 4. the check: --services running on the old primary (default: the flavor's Puppet Server and
//    PuppetDB) and status healthy with the replica active, polled for up to --wait seconds (an
//    upgrade restarts the Puppet Server: a JVM takes minutes to answer).
// 5. switchover back, then status again.
// The summary (stdout; one JSON document with --json) gives each switchover's duration and its
// steps', the command's exit and output, the check's wait and the final status.
//
// A failing step stops the script with exit 2 and says which state the pair is in and what to run
// next. After a failed command or check it never switches back: the old primary is not known good.
// --noop: status, the switchover's dry run (its checks run for real, each command it would run is
// shown) and the command recorded, not run; nothing changes. The switch back cannot be previewed
// before the first switchover is made (its checks need the replica active): it is only named.
// --json: plans draw no progress (for CI logs); stderr keeps this script's own lines.
import { argv, sleep } from 'zx';
import { z } from 'zod';
import { createRuntime, defineTask, PefError } from 'pef';

const inventory = argv.inventory ?? argv.i ?? 'inventory.yaml';
const json = argv.json === true;
const noop = argv.noop === true;
const waitS = Number(argv.wait ?? 600);
const commandTimeoutS = Number(argv['command-timeout'] ?? 1800);
const pefCmd = `pef plan run switchover -i ${inventory}`;
// Bad flags end the script before anything runs (exit 1, as the CLI's usage errors).
const usage = [
  typeof inventory === 'string' || '-i/--inventory needs a file',
  argv.command === undefined ||
    (typeof argv.command === 'string' && argv.command.trim() !== '') ||
    '--command needs a command',
  (Number.isInteger(waitS) && waitS > 0) || '--wait needs a whole number of seconds',
  (Number.isInteger(commandTimeoutS) && commandTimeoutS > 0) || '--command-timeout needs a whole number of seconds',
].filter((ok) => ok !== true);
if (usage.length > 0) {
  console.error(`maintenance-switchover: ${usage.join('; ')}. Nothing was run.`);
  process.exit(1);
}

const say = (line) => console.error(`maintenance-switchover: ${line}`);
const seconds = (s) => `${s.toFixed(1)} s`;

// The maintenance command as a task: it runs over the runtime's pooled connection to the host,
// and `change` makes --noop record it instead of running it.
const maintenance = defineTask({
  name: 'maintenance_command',
  description: 'Runs one maintenance command on a server (examples/runbooks/maintenance-switchover.mjs)',
  params: z.object({ command: z.string().min(1), timeout_s: z.number().int().min(1) }),
  supportsNoop: true,
  async run(ctx) {
    const out = await ctx.change(ctx.params.command, { timeoutMs: ctx.params.timeout_s * 1000 });
    if (out === undefined) return { changed: true, value: {} };
    const tail = (text) => text.trim().split('\n').slice(-20).join('\n');
    return { changed: true, value: { exit_code: out.exitCode, stdout: tail(out.stdout), stderr: tail(out.stderr) } };
  },
});

// Plans draw their progress (unless --json); `quiet` reads status without drawing, between them.
const pef = createRuntime({ inventory, format: json ? 'json' : 'human' });
const quiet = createRuntime({ inventory, format: 'json' });
const summary = { inventory, noop, switchovers: [], command: null, check: null, final_status: null };

// The pair's state in one line, for every stop.
async function state() {
  const doc = (await quiet.status().catch(() => ({}))).value;
  if (doc === undefined) return 'unknown (status could not run)';
  const modes = Object.entries(doc.modes)
    .map(([name, mode]) => `${name} ${mode ?? 'unknown'}`)
    .join(', ');
  return `${doc.healthy ? 'healthy' : 'NOT healthy'}, active: ${doc.active ?? 'unknown'} (modes: ${modes})${doc.healthy ? '' : `; problems: ${doc.problems.join(' ')}`}`;
}

// Ends the run: exit 2, what happened, the pair's state (read again, unless nothing was changed
// yet) and what to run next.
class Stop extends Error {
  constructor(what, next, { changing = true } = {}) {
    super(what);
    this.next = next;
    this.changing = changing;
  }
}
const refuse = (what, next) => new Stop(`refused: ${what}. Nothing was changed.`, next, { changing: false });
const firstLine = (text) => String(text ?? '').split('\n')[0];

async function switchover(from, to) {
  say(`${noop ? 'dry run: ' : ''}switchover ${from} -> ${to}`);
  const result = await pef.runPlan('switchover', { to }, { yes: true, noop });
  const steps = result.steps.map(({ name, status, elapsed_time }) => ({ name, status, elapsed_time }));
  const row = { from, to, status: result.status, elapsed_time: result.elapsed_time, steps };
  // A dry run's commands per step and host (a real run's progress shows them as they run).
  if (noop)
    row.would_run = Object.fromEntries(
      result.steps.map((s) => [s.name, s.results.flatMap((set) => set.items.flatMap((i) => i._would_run ?? []))]),
    );
  summary.switchovers.push(row);
  if (result.status === 'success') {
    say(`switchover ${from} -> ${to}: ${noop ? 'dry run ok' : 'done'} in ${seconds(result.elapsed_time)}`);
    return;
  }
  const failed = result.steps.find((s) => s.status === 'failure')?.name ?? 'check';
  const putBack = /Put back as it was/.test(result.error?.msg ?? '');
  throw new Stop(
    `switchover ${from} -> ${to} ${noop ? '(dry run) ' : ''}failed at step "${failed}": ${result.error?.msg}`,
    noop || putBack || ['check', 'confirm', 'recheck'].includes(failed)
      ? `${to} did not become active. Fix the cause, then run this script again.`
      : `Resume the switchover: ${pefCmd} to=${to} --from ${failed} --yes`,
  );
}

try {
  const read = await quiet.status();
  const before = read.value;
  // E.g. no inventory file: the status plan fails before it judges anything.
  if (before === undefined)
    throw refuse(`status could not run: ${firstLine(read.error?.msg)}`, `pef status -i ${inventory}`);
  if (!before.healthy)
    throw refuse(
      `the pair is not healthy (active: ${before.active ?? 'unknown'}): ${before.problems.join(' ')}`,
      `fix it first (pef status -i ${inventory}), then run this script again.`,
    );
  const [primary, replica] = [before.active, before.replica];
  const pe = before.flavor === 'pe';
  const command =
    argv.command ??
    `dpkg-query -W ${pe ? 'pe-puppetserver' : 'puppetserver'} || rpm -q ${pe ? 'pe-puppetserver' : 'puppetserver'}`;
  const services = argv.services
    ? String(argv.services).split(',')
    : pe
      ? ['pe-puppetserver', 'pe-puppetdb']
      : ['puppetserver', 'puppetdb'];
  // The services the check waits for must run now: a misspelt name is refused before any change.
  const baseline = (await quiet.runTask('service', primary, { action: 'status', services })).find(primary);
  const down = services.filter((s) => baseline.value.running?.[s] !== true);
  if (down.length > 0)
    throw refuse(
      baseline.error?.msg ?? `not running on ${primary}: ${down.join(', ')}`,
      `name the services the check should wait for with --services (running on ${primary} now), then run this script again.`,
    );
  say(`healthy: ${primary} active, ${replica} its spare; the maintenance on ${primary}: ${command}`);

  await switchover(primary, replica);
  const backAdvice = `Fix ${primary}, check it (pef status -i ${inventory}), then switch back: ${pefCmd} to=${primary} --yes`;

  const ran = (await pef.runTask(maintenance, primary, { command, timeout_s: commandTimeoutS }, { noop })).find(
    primary,
  );
  summary.command = { host: primary, command, status: ran.status, elapsed_time: ran.elapsedMs / 1000, ...ran.value };
  if (ran.status !== 'success')
    throw new Stop(
      `the maintenance command failed on ${primary}: ${ran.error?.msg}. Not switching back to ${primary}.`,
      backAdvice,
    );
  if (noop) say(`would run on ${primary}: ${command}`);
  else
    say(
      `maintenance on ${primary}: exit 0 in ${seconds(ran.elapsedMs / 1000)}${ran.value.stdout ? `:\n${ran.value.stdout}` : ''}`,
    );

  if (noop) {
    summary.check = {
      skipped: `a real run waits up to ${waitS} s for ${services.join(', ')} on ${primary} and a healthy pair`,
    };
    say(
      `then: the check (${summary.check.skipped}), and the switch back: ${pefCmd} to=${primary} --yes (its dry run needs ${replica} active)`,
    );
  } else {
    // Polled: a command that restarts a service returns before the service answers.
    const started = Date.now();
    let problem = 'not checked';
    while (problem !== null && Date.now() - started < waitS * 1000) {
      if (problem !== 'not checked') await sleep(10_000);
      const set = await quiet.runTask('service', primary, { action: 'status', services });
      const running = set.find(primary).value.running ?? {};
      const down = services.filter((s) => running[s] !== true);
      const doc = down.length === 0 ? (await quiet.status()).value : undefined;
      problem =
        down.length > 0
          ? `not running on ${primary}: ${down.join(', ')}${set.ok ? '' : ` (${set.find(primary).error?.msg})`}`
          : doc?.healthy && doc.active === replica
            ? null
            : `the pair is not healthy (active: ${doc?.active ?? 'unknown'}): ${doc?.problems.join(' ') ?? 'status could not run'}`;
    }
    const waited = (Date.now() - started) / 1000;
    summary.check = {
      host: primary,
      services,
      ok: problem === null,
      elapsed_time: waited,
      ...(problem ? { problem } : {}),
    };
    if (problem !== null)
      throw new Stop(
        `the check after the maintenance failed after ${seconds(waited)}: ${problem}. Not switching back to ${primary}.`,
        backAdvice,
      );
    say(`check: ${services.join(', ')} running on ${primary}, the pair healthy (${seconds(waited)})`);
    await switchover(replica, primary);
  }

  // A dry run changed nothing: no second status read (the one before it stands).
  const after = noop ? undefined : (await quiet.status()).value;
  summary.final_status = after ?? null;
  // Switched there and back: the original direction, healthy.
  if (!noop && (!after?.healthy || after.active !== primary))
    throw new Stop(
      `the pair ended ${after?.healthy ? 'healthy' : 'NOT healthy'} with ${after?.active ?? 'unknown'} active`,
      `pef status -i ${inventory}`,
    );
} catch (error) {
  // Bad input (inventory, parameters) is thrown by pef, not returned: nothing ran.
  if (!(error instanceof Stop) && !(error instanceof PefError)) throw error;
  summary.error = error instanceof PefError ? `${error.kind}: ${error.message}` : error.message;
  say(`STOPPED: ${summary.error}`);
  if (error instanceof Stop) {
    if (error.changing) {
      summary.state = await state();
      say(`the pair now: ${summary.state}`);
    }
    summary.next = error.next;
    say(`next: ${error.next}`);
  }
  process.exitCode = error instanceof PefError ? error.exitCode : 2;
} finally {
  await Promise.all([pef.close(), quiet.close()]);
}

if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
else {
  const steps = (row) =>
    row.steps
      .filter((s) => s.status !== 'not-run')
      .map((s) => `${s.name} ${s.elapsed_time.toFixed(1)}`)
      .join(', ');
  for (const row of summary.switchovers)
    console.log(
      `switchover ${row.from} -> ${row.to}${noop ? ' (dry run)' : ''}: ${row.status} in ${seconds(row.elapsed_time)} (${steps(row)})`,
    );
  if (summary.command)
    console.log(
      `command on ${summary.command.host}${noop ? ' (not run)' : ''}: ${summary.command.status} in ${seconds(summary.command.elapsed_time)}: ${summary.command.command}`,
    );
  if (summary.check)
    console.log(
      `check: ${summary.check.skipped ?? (summary.check.ok ? `ok after ${seconds(summary.check.elapsed_time)}` : summary.check.problem)}`,
    );
  const f = summary.final_status;
  if (f)
    console.log(`final status: ${f.healthy ? 'healthy' : 'NOT healthy'}, ${f.active} active, ${f.replica} its spare`);
  if (summary.error)
    console.log(
      `STOPPED: ${firstLine(summary.error)}\n${summary.state ? `the pair now: ${summary.state}\n` : ''}next: ${summary.next}`,
    );
}
