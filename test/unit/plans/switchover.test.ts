/**
 * The switchover plan without a lab: tasks are stubs over a small model of the pair's modes
 * (demote, promote and set_mode change it, probe_status reads it), so the tests cover the order,
 * the direction read from the modes (and the switch back with the same inventory), the abort
 * with everything put back, the refusals before any change, the dry run and a resumed run.
 */
import { describe, expect, it } from '@jest/globals';
import { switchover } from '../../../plans/switchover.js';
import { planExitCode } from '../../../src/cli/output.js';
import { Cancellation } from '../../../src/runtime/cancellation.js';
import { NonInteractivePrompter, type Prompter } from '../../../src/interaction/prompter.js';
import { KILL_SWITCH_FILE, renderKillSwitch } from '../../../src/puppet/mode.js';
import { parseStatusProbe, statusProbeCommand } from '../../../src/replication/status-probe.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';
import { fakeStatusHost, jobText, statusProbeAnswer } from '../../helpers/fake-status-host.js';
import { planSpec, type PlanSpec } from '../../helpers/plan-spec.js';

const targets = [
  fakeTarget('p', { role: 'primary' }),
  fakeTarget('r', { role: 'replica' }),
  fakeTarget('a', { role: 'agent' }),
];
const NOW = Date.parse('2026-06-01T12:00:00Z') / 1000;
const recent = new Date((NOW - 5) * 1000).toISOString();

type Mode = 'active' | 'passive';
interface Model {
  modes: Record<'p' | 'r', Mode>;
  killSwitch: Record<'p' | 'r', boolean>;
}

// probe_status on one server of the model: a healthy pair in whatever direction the modes say.
function probe(model: Model) {
  return (target: string) => {
    const name = target as 'p' | 'r';
    const peer = name === 'p' ? 'r' : 'p';
    const active = model.modes[name] === 'active';
    const host = fakeStatusHost(name, model.modes[name], {
      answers: { p: true, r: true },
      puppetdbConf: `[main]\nserver_urls = https://${name}:8081,https://${peer}:8081\ncommand_broadcast = true\n`,
      jobs: active
        ? { 'sync_ca.state': jobText({ job: 'sync_ca', lastRun: recent, lastSuccess: recent }) }
        : { 'receive_ca.state': jobText({ job: 'receive_ca', role: 'receive', lastRun: recent, lastSuccess: recent }) },
    });
    if (model.killSwitch[name])
      host.puppet.files.set(KILL_SWITCH_FILE, renderKillSwitch({ reason: 'demoted', since: recent, by: 'test' }));
    const answer = statusProbeAnswer(host, statusProbeCommand({ servers: ['p', 'r'] }));
    return { changed: false, value: { ...parseStatusProbe(answer ?? '') } };
  };
}

function stubAll(spec: PlanSpec, model: Model, except: string[] = []): void {
  const allow = (name: string, answer: Parameters<PlanSpec['allowTask']>[1]) => {
    if (!except.includes(name)) spec.allowTask(name, answer);
  };
  allow('discover', (t) => ({ changed: false, value: { flavor: 'oss', certname: `${t}.example` } }));
  allow('probe_status', probe(model));
  allow('compare_puppetdb', { changed: false, value: { lag: 0, missing: [], stale: [] } });
  allow('compare_ca', { changed: false, value: { equal: true } });
  allow('demote', (t) => {
    model.modes[t as 'p'] = 'passive';
    model.killSwitch[t as 'p'] = true;
    return { changed: true };
  });
  allow('promote', (t) => {
    model.modes[t as 'p'] = 'active';
    model.killSwitch[t as 'p'] = false;
    return { changed: true };
  });
  allow('set_mode', (t) => {
    model.modes[t as 'p'] = 'passive';
    model.killSwitch[t as 'p'] = false;
    return { changed: true };
  });
  // Which Puppet Servers run: stop and start change it, status reads it.
  const running: Record<string, boolean> = { p: true, r: true };
  allow('service', (t, params) => {
    const action = params['action'];
    if (action === 'stop') running[t] = false;
    if (action === 'start') running[t] = true;
    return { changed: action !== 'status', value: { running: { puppetserver: running[t] } } };
  });
  for (const task of [
    'check_connection',
    'check_pair',
    'install_replication',
    'sync_ca',
    'record_job',
    'setup_transfer',
    'configure_puppetdb_broadcast',
    'configure_agents',
    'agent_check',
  ])
    allow(task, { changed: true });
}

const steady = (active: 'p' | 'r' = 'p'): Model => ({
  modes: { p: active === 'p' ? 'active' : 'passive', r: active === 'r' ? 'active' : 'passive' },
  killSwitch: { p: false, r: false },
});

// The changing tasks, in order, with their target and the parameters that matter.
const READS = ['discover', 'probe_status', 'compare_puppetdb', 'compare_ca', 'check_connection', 'check_pair'];
function changes(spec: PlanSpec): string[] {
  return spec.calls
    .filter((c) => !READS.includes(c.task))
    .map((c) => {
      const p = c.params[0] ?? {};
      const detail = ['action', 'enabled', 'receiver', 'peer', 'mode', 'server_list', 'expect_server', 'job']
        .filter((k) => p[k] !== undefined)
        .map((k) => `${k}=${String(p[k])}`)
        .join(' ');
      return `${c.task}@${c.targets.join(',')}${detail ? ` ${detail}` : ''}`;
    });
}

describe('switchover', () => {
  it('fences, syncs, verifies, promotes and reverses, in that order, and ends healthy the other way round', async () => {
    const model = steady();
    const spec = planSpec(targets);
    stubAll(spec, model);
    const result = await spec.run(switchover, {}, { yes: true });
    expect(result.steps.filter((s) => s.status !== 'success').map((s) => `${s.name}: ${s.error?.msg ?? ''}`)).toEqual(
      [],
    );
    expect(changes(spec)).toEqual([
      'install_replication@p enabled=false receiver=r',
      'service@p action=stop',
      'sync_ca@p receiver=r',
      'record_job@p job=sync_ca',
      'record_job@r job=receive_ca',
      'demote@p peer=r',
      // The old primary's Puppet Server boots while the spare is promoted; new_spare finds it up.
      'promote@r peer=p',
      'service@p action=start',
      'set_mode@p peer=r mode=passive',
      'service@p action=start',
      'setup_transfer@r receiver=p',
      'configure_puppetdb_broadcast@r receiver=p',
      'install_replication@r enabled=true receiver=p',
      'sync_ca@r receiver=p',
      'record_job@r job=sync_ca',
      'record_job@p job=receive_ca',
      'configure_agents@a server_list=r.example,p.example',
      'agent_check@a expect_server=r.example',
    ]);
    expect(model).toEqual(steady('r'));
    // The first pass the other way records the new jobs' schedule, so status can judge them at once.
    expect(spec.calls.filter((c) => c.task === 'record_job').at(-1)?.params[0]).toMatchObject({ interval_s: 60 });
  });

  it('reads the pair again after a person confirmed at the prompt; with --yes the checks already followed the confirmation', async () => {
    // A reading of the pair (pairStatus) ends with compare_puppetdb.
    const readingsBeforePause = (spec: PlanSpec) => {
      const pause = spec.calls.findIndex((c) => c.task === 'install_replication');
      return spec.calls.slice(0, pause).filter((c) => c.task === 'compare_puppetdb').length;
    };
    const flagged = planSpec(targets);
    stubAll(flagged, steady());
    expect((await flagged.run(switchover, {}, { yes: true })).status).toBe('success');
    // The check's one reading.
    expect(readingsBeforePause(flagged)).toBe(1);

    const asked = planSpec(targets);
    stubAll(asked, steady());
    const refuse = new NonInteractivePrompter();
    const prompter: Prompter = {
      interactive: true,
      input: () => Promise.resolve('r'),
      secret: refuse.secret.bind(refuse),
      confirm: refuse.confirm.bind(refuse),
      select: refuse.select.bind(refuse),
    };
    expect((await asked.run(switchover, {}, { prompter })).status).toBe('success');
    expect(readingsBeforePause(asked)).toBe(2);
  });

  it('switches back with the same inventory: the direction comes from the modes, not the roles', async () => {
    const model = steady('r');
    const spec = planSpec(targets);
    stubAll(spec, model);
    const result = await spec.run(switchover, {}, { yes: true });
    expect(result.steps.filter((s) => s.status === 'failure').map((s) => `${s.name}: ${s.error?.msg ?? ''}`)).toEqual(
      [],
    );
    const roleChanges = changes(spec).filter((c) => /^(demote|promote|configure_agents)/.test(c));
    expect(roleChanges).toEqual([
      'demote@r peer=p',
      'promote@p peer=r',
      'configure_agents@a server_list=p.example,r.example',
    ]);
    expect(model).toEqual(steady('p'));
  });

  it('aborts when the spare does not hold what the primary holds, with everything put back and nothing promoted', async () => {
    const model = steady();
    const spec = planSpec(targets);
    stubAll(spec, model, ['compare_ca']);
    spec.allowTask('compare_ca', { changed: false, value: { equal: false, digest: { p: 'aa', r: 'bb' } } });
    const result = await spec.run(switchover, {}, { yes: true });
    expect(result.status).toBe('failure');
    const failed = result.steps.find((s) => s.status === 'failure');
    expect(failed?.name).toBe('verify_equal');
    expect(failed?.error?.msg).toMatch(/aborted before any promotion: CA: the digests differ/);
    expect(result.error?.msg).toMatch(/aborted before any promotion: CA: the digests differ.*Put back as it was/s);
    // final_sync reseeds on a lag; the stubs keep the lag, so verify_equal sees it still.
    expect(changes(spec).slice(-2)).toEqual([
      'service@p action=start',
      'install_replication@p receiver=p'.replace('receiver=p', 'enabled=true receiver=r'),
    ]);
    expect(changes(spec).some((c) => /^(demote|promote|set_mode)/.test(c))).toBe(false);
    expect(model).toEqual(steady('p'));
    expect(planExitCode(result)).toBe(2);
  });

  it('puts everything back after a Ctrl-C in the final sync: the put-back tasks run despite the cancel', async () => {
    const model = steady();
    const spec = planSpec(targets);
    stubAll(spec, model, ['sync_ca']);
    const cancellation = new Cancellation(0);
    // The operator presses Ctrl-C while the final CA pass runs; the pass itself still finishes.
    spec.allowTask('sync_ca', () => {
      cancellation.cancel('SIGINT');
      return { changed: true };
    });
    const result = await spec.run(switchover, {}, { yes: true, cancellation });
    expect(result.status).toBe('failure');
    expect(result.error?.kind).toBe('pef/cancelled');
    expect(result.error?.msg).toMatch(/Put back as it was: p active and serving, its jobs sending to r/);
    expect(changes(spec).slice(-2)).toEqual([
      'service@p action=start',
      'install_replication@p enabled=true receiver=r',
    ]);
    expect(changes(spec).some((c) => /^(demote|promote|set_mode)/.test(c))).toBe(false);
    expect(model).toEqual(steady('p'));
  });

  it('does not put back when a cancel comes before the first change', async () => {
    const model = steady();
    const spec = planSpec(targets);
    stubAll(spec, model, ['check_pair']);
    const cancellation = new Cancellation(0);
    spec.allowTask('check_pair', () => {
      cancellation.cancel('SIGINT');
      return { changed: false };
    });
    const result = await spec.run(switchover, {}, { yes: true, cancellation });
    expect(result.error?.kind).toBe('pef/cancelled');
    expect(result.error?.msg).not.toMatch(/Put back/);
    expect(changes(spec)).toEqual([]);
  });

  it('refuses before any change when a prerequisite fails, also in a dry run (exit 2)', async () => {
    for (const noop of [false, true]) {
      const model = steady();
      model.killSwitch.r = true;
      const spec = planSpec(targets);
      stubAll(spec, model);
      const result = await spec.run(switchover, { to: 'r' }, { yes: true, noop });
      expect(result.steps[0]).toMatchObject({ name: 'check', status: 'failure' });
      expect(result.steps[0]?.error?.msg).toMatch(/refused, a prerequisite failed:\n- replication: .*kill-switch/);
      expect(changes(spec)).toEqual([]);
      expect(planExitCode(result)).toBe(2);
    }
  });

  it('without a terminal and without --yes stops at the confirmation (exit 1), nothing changed', async () => {
    const spec = planSpec(targets);
    stubAll(spec, steady());
    const result = await spec.run(switchover);
    expect(result.steps.find((s) => s.status === 'failure')).toMatchObject({
      name: 'confirm',
      error: { kind: 'pef/non-interactive' },
    });
    expect(changes(spec)).toEqual([]);
    expect(planExitCode(result)).toBe(1);
  });

  it('a dry run runs the checks for real, previews every step and changes no mode', async () => {
    const model = steady();
    const spec = planSpec(targets);
    stubAll(spec, model, ['promote']);
    // What the real promote says while the old primary is still active (the dry run only previewed its demotion).
    spec.allowTask('promote', { error: 'promote refused on r: the peer p is reachable and still active' });
    const result = await spec.run(switchover, {}, { noop: true });
    expect(result.status).toBe('success');
    expect(result.noop).toBe(true);
    expect(result.steps.map((s) => s.status).every((s) => s === 'success')).toBe(true);
    expect(spec.calls.filter((c) => c.task === 'check_pair')).toHaveLength(2);
    expect(changes(spec)).toContain('demote@p peer=r');
    expect(changes(spec)).not.toContain('agent_check@a expect_server=r.example');
  });

  it('a resumed run that names no server infers nothing half-way, and with the wrong direction changes nothing', async () => {
    // Stopped after the promotion: r active, p passive with its kill-switch on.
    const half: Model = { modes: { p: 'passive', r: 'active' }, killSwitch: { p: true, r: false } };
    let spec = planSpec(targets);
    stubAll(spec, half);
    let result = await spec.run(switchover, {}, { yes: true, from: 'new_spare' });
    expect(result.steps.find((s) => s.status === 'failure')?.error?.msg).toMatch(
      /Cannot tell which server .* to=<name>/,
    );
    expect(changes(spec)).toEqual([]);

    // Resumed after new_spare with the direction inferred the wrong way round: the guard stops it.
    spec = planSpec(targets);
    stubAll(spec, steady('r'));
    result = await spec.run(switchover, {}, { yes: true, from: 'reverse' });
    expect(result.steps.find((s) => s.status === 'failure')?.error?.msg).toMatch(
      /expected p active and r passive after the promotion/,
    );
    expect(changes(spec)).toEqual([]);

    // Named, it goes on from where it stopped.
    spec = planSpec(targets);
    stubAll(spec, half);
    result = await spec.run(switchover, { to: 'r' }, { yes: true, from: 'new_spare' });
    expect(result.status).toBe('success');
    expect(changes(spec)[0]).toBe('set_mode@p peer=r mode=passive');
  });
});

describe('switchover resumed at demote', () => {
  it('proves again that the old primary is fenced before demoting it', async () => {
    const spec = planSpec(targets);
    stubAll(spec, steady());
    const result = await spec.run(switchover, { to: 'r' }, { yes: true, from: 'demote' });
    expect(result.steps.find((s) => s.status === 'failure')?.error?.msg).toMatch(
      /p's Puppet Server is running: it is not fenced. Resume from the fence step/,
    );
    expect(changes(spec)).toEqual(['service@p action=status']);
  });
});
