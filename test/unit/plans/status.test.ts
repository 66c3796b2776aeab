/**
 * The status plan over fake hosts (test/helpers/fake-status-host.ts): the real probe_status task
 * and the real judgement, with each host answering the probe's exact command the way the real
 * probe prints. Each case breaks one thing in a healthy pair and checks that status says so.
 */
import { describe, expect, it } from '@jest/globals';
import { status } from '../../../plans/status.js';
import { formatStatus } from '../../../src/cli/format-status.js';
import { renderEpochFile, EPOCH_FILE } from '../../../src/puppet/epoch.js';
import { renderKillSwitch, KILL_SWITCH_FILE, MODE_FILE, renderModeFile } from '../../../src/puppet/mode.js';
import { runPlan, taskRegistry } from '../../../src/plan/run-plan.js';
import type { StatusDocument } from '../../../src/replication/status.js';
import type { TaskDefinition, TaskOutcome } from '../../../src/task/task.js';
import { comparePuppetdbTask } from '../../../tasks/compare-puppetdb.js';
import { probeStatus } from '../../../tasks/probe-status.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';
import { fakeStatusHost, jobText, statusHostsHandler, type FakeStatusHost } from '../../helpers/fake-status-host.js';

const NOW = Date.parse('2026-06-01T12:00:00Z') / 1000;
const ago = (s: number) => new Date((NOW - s) * 1000).toISOString();
const CERTS = ['0x0001 2026-01-01T00:00:00UTC 2031-01-01T00:00:00UTC /CN=p', '0x0002 x y /CN=agent1'];
const BROADCAST = '[main]\nserver_urls = https://p:8081,https://r:8081\ncommand_broadcast = true\n';

function healthyPair(): { p: FakeStatusHost; r: FakeStatusHost } {
  const answers = { p: true, r: true };
  return {
    p: fakeStatusHost('p', 'active', {
      answers,
      caInventory: [...CERTS],
      puppetdbConf: BROADCAST,
      jobs: { 'sync_ca.state': jobText({ job: 'sync_ca', lastRun: ago(10), lastSuccess: ago(10) }) },
    }),
    r: fakeStatusHost('r', 'passive', {
      answers,
      caInventory: [...CERTS],
      jobs: {
        'receive_ca.state': jobText({
          job: 'receive_ca',
          role: 'receive',
          lastRun: ago(5),
          lastSuccess: ago(5),
          lag: 0,
        }),
      },
    }),
  };
}

// compare_puppetdb is stubbed through the registry (its PQL is tested on its own): what it answers.
let compared: TaskOutcome | Error = { changed: false, value: { missing: [], stale: [], lag: 0 } };
const compareStub: TaskDefinition = {
  ...(comparePuppetdbTask as unknown as TaskDefinition),
  run: () => (compared instanceof Error ? Promise.reject(compared) : Promise.resolve(compared)),
};

async function runStatus(hosts: { p: FakeStatusHost; r: FakeStatusHost }, down: string[] = [], noop = false) {
  const targets = [fakeTarget('p', { role: 'primary' }), fakeTarget('r', { role: 'replica' })];
  const fake = fakeRuntime(targets, statusHostsHandler(hosts, down), { noop });
  const result = await runPlan(fake.runtime, status, {}, { tasks: taskRegistry([probeStatus, compareStub]) });
  compared = { changed: false, value: { missing: [], stale: [], lag: 0 } };
  return { result, doc: result.value as StatusDocument, sent: fake.sent };
}

const problem = (doc: StatusDocument, pattern: RegExp) => doc.problems.filter((p) => pattern.test(p));

describe('status plan', () => {
  it('a healthy pair: the active server, each kind with its last success and age, no problems, the plan succeeds', async () => {
    const { result, doc } = await runStatus(healthyPair());
    expect(doc.problems).toEqual([]);
    expect(result.status).toBe('success');
    expect(doc).toMatchObject({
      active: 'p',
      replica: 'r',
      healthy: true,
      flavor: 'oss',
      modes: { p: 'active', r: 'passive' },
      kill_switch: { p: null, r: null },
      epoch: { p: null, r: null },
      answers_8140: { p: { p: true, r: true }, r: { p: true, r: true } },
      code_drift: false,
      ca: { serial_equal: true, lag: 0 },
      puppetdb: { broadcast: true, lag: 0 },
    });
    expect(doc.data).toEqual([
      { kind: 'ca', last_success: ago(10), age_s: 10, error: null, lag: 0, jobs: ['p:sync_ca', 'r:receive_ca'] },
      { kind: 'puppetdb', last_success: null, age_s: null, error: null, lag: 0, jobs: [] },
    ]);
  });

  it('reads for real under --noop (it only reads) and sends one probe per server', async () => {
    const { doc, sent } = await runStatus(healthyPair(), [], true);
    expect(doc.healthy).toBe(true);
    expect(sent.map((s) => s.target)).toEqual(['r', 'p']);
  });

  it('a stale kind: the job runs but its last success is older than twice its interval', async () => {
    const hosts = healthyPair();
    hosts.r.jobs['receive_ca.state'] = jobText({
      job: 'receive_ca',
      role: 'receive',
      lastRun: ago(5),
      lastSuccess: ago(600),
    });
    const { result, doc } = await runStatus(hosts);
    expect(doc.healthy).toBe(false);
    expect(result.status).toBe('failure');
    expect(problem(doc, /^ca is stale: receive_ca on r last succeeded 10m ago \(it runs every 60s\)/)).toHaveLength(1);
    expect(doc.data[0]).toMatchObject({ kind: 'ca', last_success: ago(600), age_s: 600 });
  });

  it('a stopped job: its last run is older than twice its interval', async () => {
    const hosts = healthyPair();
    hosts.p.jobs['sync_ca.state'] = jobText({ job: 'sync_ca', lastRun: ago(3600), lastSuccess: ago(3600) });
    const { doc } = await runStatus(hosts);
    expect(doc.healthy).toBe(false);
    expect(problem(doc, /^sync_ca on p stopped: last run 60m ago, it should run every 60s/)).toHaveLength(1);
  });

  it('a failed job: its error is in the row and in problems', async () => {
    const hosts = healthyPair();
    hosts.p.jobs['sync_ca.state'] = jobText({
      job: 'sync_ca',
      result: 'failure',
      lastRun: ago(3),
      lastSuccess: ago(20),
      lastFailure: ago(3),
      error: 'rsync: connection refused',
    });
    const { doc } = await runStatus(hosts);
    expect(doc.healthy).toBe(false);
    expect(doc.data[0]).toMatchObject({ kind: 'ca', error: 'rsync: connection refused', last_success: ago(20) });
    expect(problem(doc, /^ca: sync_ca on p failed at .*: rsync: connection refused/)).toHaveLength(1);
  });

  it('the kill-switch on: not healthy, with its reason', async () => {
    const hosts = healthyPair();
    hosts.r.puppet.files.set(KILL_SWITCH_FILE, renderKillSwitch({ reason: 'demoted', since: ago(60), by: 'test' }));
    const { doc } = await runStatus(hosts);
    expect(doc.kill_switch).toEqual({ p: null, r: 'demoted' });
    expect(problem(doc, /^replication is switched off on r \(kill-switch: demoted\)/)).toHaveLength(1);
  });

  it('an unreachable replica: unknown is not healthy; the primary is still reported', async () => {
    const { result, doc } = await runStatus(healthyPair(), ['r']);
    expect(result.status).toBe('failure');
    expect(doc).toMatchObject({ healthy: false, active: 'p', replica: 'r', modes: { p: 'active', r: null } });
    expect(problem(doc, /^cannot read r: .*ECONNREFUSED/)).toHaveLength(1);
    expect(doc.answers_8140['r']).toEqual({ p: true, r: null });
    expect(doc.data[0]).toMatchObject({ kind: 'ca', last_success: null, jobs: ['p:sync_ca'] });
  });

  it('shows both epochs; a fenced primary and a passive server with the newer epoch are problems', async () => {
    const hosts = healthyPair();
    hosts.p.puppet.files.set(EPOCH_FILE, renderEpochFile({ epoch: 1, changedAt: '', by: 't' }));
    hosts.r.puppet.files.set(EPOCH_FILE, renderEpochFile({ epoch: 2, changedAt: '', by: 't' }));
    const stale = (await runStatus(hosts)).doc;
    expect(stale).toMatchObject({ healthy: false, epoch: { p: 1, r: 2 } });
    expect(problem(stale, /^p is active with epoch 1, but r has the newer epoch 2/)).toHaveLength(1);

    hosts.p.puppet.files.set(MODE_FILE, renderModeFile({ mode: 'fenced', peer: 'r', changedAt: '', by: 't' }));
    hosts.p.answers = {};
    hosts.r.answers = { r: true };
    const fenced = (await runStatus(hosts)).doc;
    expect(fenced).toMatchObject({ healthy: false, modes: { p: 'fenced', r: 'passive' } });
    expect(problem(fenced, /^p is fenced .*its Puppet Server is stopped/)).toHaveLength(1);
    expect(formatStatus(fenced)).toMatch(/\(FENCED, epoch 1, NOT answering on 8140/);

    hosts.r.puppet.files.set(EPOCH_FILE, 'epoch=two\n');
    const invalid = (await runStatus(hosts)).doc;
    expect(invalid.epoch['r']).toBe('invalid');
    expect(problem(invalid, /^r: \/etc\/pef\/epoch holds no valid epoch/)).toHaveLength(1);
  });

  it('two actives: no active server is named, and the problem says what to do', async () => {
    const hosts = healthyPair();
    hosts.r.puppet.files.set(MODE_FILE, renderModeFile({ mode: 'active', peer: 'p', changedAt: '', by: 't' }));
    const { doc } = await runStatus(hosts);
    expect(doc.active).toBeNull();
    expect(problem(doc, /^two active servers: both p and r have mode active/)).toHaveLength(1);
  });

  it('the active server by mode does not answer on 8140 while the spare does: mode and 8140 disagree', async () => {
    const hosts = healthyPair();
    hosts.p.answers = { r: true };
    hosts.r.answers = { r: true };
    const { doc } = await runStatus(hosts);
    expect(doc.answers_8140['p']).toEqual({ p: false, r: false });
    expect(problem(doc, /^p is active by its mode but does not answer on 8140, while r does/)).toHaveLength(1);
  });

  it('a missing state file: a job the flavor needs is not installed', async () => {
    const hosts = healthyPair();
    hosts.r.jobs = {};
    const { doc } = await runStatus(hosts);
    expect(problem(doc, /^no ca receive job on r \(\/var\/lib\/pef\/state\)/)).toHaveLength(1);
  });

  it('a state file that is a symbolic link or unreadable is a problem, never read', async () => {
    const hosts = healthyPair();
    hosts.r.jobs['evil.state'] = 'refused';
    hosts.p.jobs['broken.state'] = 'unreadable';
    const { doc } = await runStatus(hosts);
    expect(
      problem(doc, /^r: job state \/var\/lib\/pef\/state\/evil.state could not be used: a symbolic link/),
    ).toHaveLength(1);
    expect(
      problem(doc, /^p: job state \/var\/lib\/pef\/state\/broken.state could not be used: unreadable/),
    ).toHaveLength(1);
  });

  it('the CA lag: certificates the replica lacks, when its inventory is an older copy; diverged inventories are a problem', async () => {
    const hosts = healthyPair();
    hosts.p.caInventory = [...CERTS, '0x0003 x y /CN=agent2', '0x0004 x y /CN=agent3'];
    hosts.p.caSerial = '0C';
    expect((await runStatus(hosts)).doc.ca).toEqual({ serial_equal: false, lag: 2 });
    hosts.r.caInventory = ['0x0001 x y /CN=other'];
    const { doc } = await runStatus(hosts);
    expect(doc.ca.lag).toBeNull();
    expect(problem(doc, /^the CA inventories differ/)).toHaveLength(1);
  });

  it('code drift alone makes the pair unhealthy', async () => {
    const hosts = healthyPair();
    hosts.r.code = 'other';
    const { doc, result } = await runStatus(hosts);
    expect(doc.problems).toEqual([expect.stringMatching(/^code drift/)]);
    expect(doc.healthy).toBe(false);
    expect(result.status).toBe('failure');
  });

  it('code drift and a PuppetDB terminus that does not broadcast to the spare are problems', async () => {
    const hosts = healthyPair();
    hosts.r.code = 'other';
    hosts.p.puppetdbConf = '[main]\nserver_urls = https://p:8081\n';
    const { doc } = await runStatus(hosts);
    expect(doc.code_drift).toBe(true);
    expect(doc.puppetdb.broadcast).toBe(false);
    expect(problem(doc, /^code drift: environments\/ differs between p and r/)).toHaveLength(1);
    expect(problem(doc, /^PuppetDB commands are not broadcast from p to r/)).toHaveLength(1);
  });

  it("the spare's PuppetDB: lag from compare_puppetdb, missing nodes and a failed comparison are problems", async () => {
    compared = { changed: false, value: { missing: ['agent1.lab'], stale: [{ certname: 'agent2.lab' }], lag: 2 } };
    const lacking = (await runStatus(healthyPair())).doc;
    expect(lacking.puppetdb).toEqual({ broadcast: true, lag: 2 });
    expect(problem(lacking, /^r's PuppetDB lacks 1 node\(s\) the active one holds/)).toHaveLength(1);
    compared = new Error("the replica's PuppetDB does not answer");
    const unknown = (await runStatus(healthyPair())).doc;
    expect(unknown.puppetdb.lag).toBeNull();
    expect(
      problem(
        unknown,
        /^the PuppetDBs could not be compared \(compare_puppetdb\): the replica's PuppetDB does not answer/,
      ),
    ).toHaveLength(1);
  });

  it('PE needs classification, rbac and orchestrator jobs too; rows come from the state files', async () => {
    const hosts = healthyPair();
    for (const h of [hosts.p, hosts.r]) h.flavor = 'pe';
    hosts.p.jobs['sync_rbac.state'] = jobText({
      job: 'sync_rbac',
      kind: 'rbac',
      intervalS: 900,
      lastRun: ago(60),
      lastSuccess: ago(60),
    });
    hosts.r.jobs['receive_rbac.state'] = jobText({
      job: 'receive_rbac',
      kind: 'rbac',
      role: 'receive',
      intervalS: 900,
      lastRun: ago(30),
      lastSuccess: ago(30),
      lag: 0,
    });
    const { doc } = await runStatus(hosts);
    expect(doc.data.map((d) => d.kind)).toEqual(['ca', 'classification', 'rbac', 'orchestrator']);
    expect(doc.data[2]).toMatchObject({ kind: 'rbac', last_success: ago(60), age_s: 60, lag: 0 });
    expect(doc.problems).toEqual([
      expect.stringMatching(/^no classification send job on p/),
      expect.stringMatching(/^no orchestrator send job on p/),
      expect.stringMatching(/^no classification receive job on r/),
      expect.stringMatching(/^no orchestrator receive job on r/),
    ]);
  });
});
