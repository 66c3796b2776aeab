#!/usr/bin/env node
// dr-drill.mjs: rehearse losing the primary, end to end, on pef's built-in lab (never on real
// servers: it cuts a host's power).
//
//   node examples/runbooks/dr-drill.mjs [--lab-dir .pef-lab] [--skip-setup] [--json]
//
// The lab up (or reused when up) → setup (idempotent; --skip-setup when it is known done) → the primary's
// power cut (`pef lab stop primary`) → failover to the replica → the RTO measured: from the
// failover's start to the first agent run that succeeds against the replica → a new agent joins
// during the outage (its certificate signed by the promoted replica's CA) → the old primary booted
// again (`pef lab start primary`: its host-side job sees the newer epoch and fences itself) →
// failback → what the outage produced is on the original primary (the new agent's certificate and
// its exported resource) → the status table and one summary line (RTO, the RPO the failover
// suffered, the failback's duration).
//
// Each check prints `dr-drill: check <what>: ok` or `… FAILED: <why>`. Exit 0 when every check
// held and the pair ends healthy in its original direction; otherwise exit 2 and the lab stays up
// to look at. --json: plans draw no progress (for CI logs).
import { fileURLToPath } from 'node:url';
import { $, argv, sleep } from 'zx';
import { createRuntime } from 'pef';

const labDir = argv['lab-dir'] ?? '.pef-lab';
const inventory = `${labDir}/inventory.yaml`;
const cli = fileURLToPath(new URL('../../bin/pef.js', import.meta.url));
const newAgent = `drill-${Date.now()}.lab`;
const newAgentSsl = `/tmp/pef-drill-ssl-${process.pid}`;
$.verbose = false;

const say = (line) => console.error(`dr-drill: ${line}`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
// A check that fails ends the drill: what follows would only fail for the same reason.
const check = (what, problem) => {
  if (problem) throw new Error(`check ${what}: FAILED: ${problem}`);
  say(`check ${what}: ok`);
};
const planFailed = (result) => (result.status === 'success' ? null : (result.error?.msg ?? result.status));
// `pef lab exec HOST -- sh -c CMD` (the lab's controls are CLI-only: not part of pef's library surface).
const onHost = (host, command) => $({ nothrow: true })`${cli} lab exec ${host} --dir ${labDir} -- sh -c ${command}`;
// A Puppet run on agent1; `--detailed-exitcodes`: 0 and 2 are successful runs. The lab's own
// manifest says which server compiled the catalog.
const agentRun = async (options = '') => {
  const run = await onHost('agent1', `puppet agent --test --detailed-exitcodes ${options} 2>&1`);
  const compiledBy = /catalog compiled by (\S+) for/.exec(run.stdout)?.[1] ?? null;
  return { ok: [0, 2].includes(run.exitCode), compiledBy, output: run.stdout };
};

// A lab already up (whatever its network) is used as it is.
if ((await $({ nothrow: true })`${cli} lab status --dir ${labDir}`).exitCode !== 0)
  await $`${cli} lab up --dir ${labDir}`;
// 'human': each plan draws its live progress on stderr (listr2 on a terminal).
const pef = createRuntime({ inventory, format: argv.json ? 'json' : 'human' });
try {
  if (!argv['skip-setup']) check('setup', planFailed(await pef.runPlan('setup', { code: 'rsync' })));
  const before = (await pef.status()).value;
  check('the pair is healthy before the drill', before?.healthy === true ? null : before?.problems.join(' '));
  const [primary, replica] = [before.active, before.replica];

  say(`cutting ${primary}'s power`);
  await $`${cli} lab stop primary --dir ${labDir}`;
  const start = Date.now();
  const failover = await pef.runPlan('failover', {}, { yes: true });
  check('failover', planFailed(failover));
  // The agent keeps its own configuration: the failover put the replica first in its server_list.
  const run = await agentRun();
  const rto = Date.now() - start;
  check(
    `an agent run compiled by ${replica}`,
    run.ok && run.compiledBy === replica ? null : `compiled by ${run.compiledBy}:\n${run.output}`,
  );
  // What the replica's copy lacked at failover time, per data kind (the failover's report).
  const rpo = (failover.value?.rpo ?? [])
    .map((row) => `${row.kind} ${row.age_s === null ? (row.kind === 'puppetdb' ? 'streamed' : '?') : `${row.age_s} s`}`)
    .join(', ');
  say(`RTO ${seconds(rto)}: ${replica} active, an agent run succeeded against it`);

  // A new agent during the outage: its request, signed by the promoted CA, then its first run
  // (which exports a resource into the replica's PuppetDB).
  const joining = `--certname ${newAgent} --ssldir ${newAgentSsl} --server ${replica}`;
  await onHost('agent1', `puppet ssl bootstrap ${joining} --waitforcert 0 >/dev/null 2>&1`);
  const sign = await onHost('replica', `puppetserver ca sign --certname ${newAgent} 2>&1`);
  check(`${replica}'s CA signs a new agent`, sign.exitCode === 0 ? null : sign.stdout);
  const joined = await agentRun(`--noop ${joining}`);
  check(`the new agent ${newAgent} runs`, joined.ok ? null : joined.output);

  say(`booting ${primary} again: it must fence itself (a newer epoch is active)`);
  await $`${cli} lab start primary --dir ${labDir}`;
  // Its sync job's first pass compares epochs with the replica before anything else (about 10 s).
  let mode = '';
  for (let waited = 0; mode !== 'fenced' && waited <= 180; waited += 2) {
    await sleep(2000);
    mode = (await onHost('primary', "sed -n 's/^mode=//p' /etc/pef/mode")).stdout.trim();
  }
  check(`${primary} fenced itself`, mode === 'fenced' ? null : `its mode is ${mode || 'unknown'} after 3 minutes`);
  const stale = await agentRun(`--noop --server_list ${primary}:8140`);
  check(
    `an agent listing only ${primary} gets no catalog from it`,
    stale.ok ? `compiled by ${stale.compiledBy}` : null,
  );

  const failbackStart = Date.now();
  check('failback', planFailed(await pef.runPlan('failback', { code: 'rsync' }, { yes: true })));
  const failback = Date.now() - failbackStart;
  const back = await agentRun();
  check(`an agent run compiled by ${primary} again`, back.ok && back.compiledBy === primary ? null : back.output);
  const inventoryTxt = await onHost('primary', 'cat "$(puppet config print cadir --section server)/inventory.txt"');
  check(
    `${newAgent}'s certificate, signed during the outage, is in ${primary}'s CA`,
    inventoryTxt.stdout.includes(`/CN=${newAgent}`) ? null : 'not in its inventory.txt',
  );
  // The primary's own run collects every node's exported file (the lab's manifest).
  const exported = `/var/lib/pef-lab/nodes/${newAgent}`;
  await onHost('primary', `rm -f ${exported}; puppet agent --test >/dev/null 2>&1`);
  check(
    `${newAgent}'s exported resource is collected on ${primary}`,
    (await onHost('primary', `test -f ${exported}`)).exitCode === 0 ? null : `no ${exported}`,
  );

  const after = (await pef.status()).value;
  // The status table for a person (`pef status`, a second status run); --json keeps to the checks.
  if (!argv.json) await $({ stdio: ['ignore', 'inherit', 'inherit'], nothrow: true })`${cli} status -i ${inventory}`;
  check(
    `${primary} active again, the pair healthy`,
    after?.healthy === true && after.active === primary
      ? null
      : `active ${after?.active}: ${after?.problems.join(' ')}`,
  );
  say(
    `RTO ${seconds(rto)} (failover to the first agent run on ${replica}); RPO suffered: ${rpo || 'see the failover report'}; failback ${seconds(failback)}`,
  );
  say(`the lab stays up; take it down with: ${cli} lab down --dir ${labDir}`);
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  say(`the lab stays up to look at: ${cli} status -i ${inventory}`);
  process.exitCode = 2;
} finally {
  await onHost('agent1', `rm -rf ${newAgentSsl}`);
  await pef.close();
}
