/**
 * A small model of a pair's servers for plan tests: each host's mode, kill-switch and whether pef
 * can read it; the stubbed tasks that change modes (set_mode, promote, demote) change the model
 * and probe_status reads it back as a healthy pair in whatever direction the modes say. Every
 * other task a workflow plan runs is allowed and answers success.
 */
import type { FailoverMode } from '../../src/puppet/mode.js';
import { KILL_SWITCH_FILE, renderKillSwitch } from '../../src/puppet/mode.js';
import { parseStatusProbe, statusProbeCommand } from '../../src/replication/status-probe.js';
import { fakeStatusHost, jobText, statusProbeAnswer } from './fake-status-host.js';
import type { PlanSpec } from './plan-spec.js';

/** The hosts' state; tests read it after the run. */
export interface PairModel {
  modes: Record<string, FailoverMode | null>;
  killSwitch: Record<string, boolean>;
  /** Hosts pef cannot log in to (probe_status fails with pef/connect-failed). */
  down: string[];
  flavor: 'oss' | 'pe';
}

const AT = new Date(Date.parse('2026-06-01T12:00:00Z') - 5000).toISOString();

/** Stubs every task the workflow plans run over `model`, except those in `except`. */
export function stubPairModel(spec: PlanSpec, model: PairModel, except: readonly string[] = []): void {
  const allow = (name: string, answer: Parameters<PlanSpec['allowTask']>[1]) => {
    if (!except.includes(name)) spec.allowTask(name, answer);
  };
  const hosts = Object.keys(model.modes);
  allow('discover', (t) => ({ changed: false, value: { flavor: model.flavor, certname: `${t}.example` } }));
  allow('probe_status', (t) => {
    if (model.down.includes(t)) return { error: `cannot connect to ${t}`, kind: 'pef/connect-failed' };
    const mode = model.modes[t] ?? null;
    const host = fakeStatusHost(t, mode, {
      flavor: model.flavor,
      answers: Object.fromEntries(hosts.map((h) => [h, !model.down.includes(h)])),
      puppetdbConf: `[main]\nserver_urls = ${hosts.map((h) => `https://${h}:8081`).join(',')}\ncommand_broadcast = true\n`,
      jobs:
        mode === 'active'
          ? { 'sync_ca.state': jobText({ job: 'sync_ca', lastRun: AT, lastSuccess: AT }) }
          : mode === 'passive'
            ? { 'receive_ca.state': jobText({ job: 'receive_ca', role: 'receive', lastRun: AT, lastSuccess: AT }) }
            : {},
    });
    if (model.killSwitch[t])
      host.puppet.files.set(KILL_SWITCH_FILE, renderKillSwitch({ reason: 'demoted', since: AT, by: 'test' }));
    const answer = statusProbeAnswer(host, statusProbeCommand({ servers: hosts }));
    return { changed: false, value: { ...parseStatusProbe(answer ?? '') } };
  });
  const setState = (t: string, mode: FailoverMode, kill: boolean | undefined) => {
    model.modes[t] = mode;
    if (kill !== undefined) model.killSwitch[t] = kill;
    return { changed: true };
  };
  allow('set_mode', (t, p) =>
    setState(
      t,
      p['mode'] as FailoverMode,
      p['replication'] === 'enabled' ? false : p['replication'] === 'disabled' ? true : undefined,
    ),
  );
  allow('demote', (t) => setState(t, 'passive', true));
  allow('promote', (t) => setState(t, 'active', false));
  allow('promote_replica', (t) => setState(t, 'active', false));
  allow('compare_puppetdb', { changed: false, value: { lag: 0, missing: [], stale: [] } });
  allow('compare_ca', { changed: false, value: { equal: true } });
  const running: Record<string, boolean> = Object.fromEntries(hosts.map((h) => [h, true]));
  allow('service', (t, p) => {
    if (p['action'] === 'stop') running[t] = false;
    if (p['action'] === 'start') running[t] = true;
    return { changed: p['action'] !== 'status', value: { running: { puppetserver: running[t] } } };
  });
  for (const task of [
    'check_connection',
    'check_pair',
    'install_agent',
    'setup_transfer',
    'pad_serial',
    'sync_ca',
    'configure_replica',
    'configure_puppetdb_broadcast',
    'install_replication',
    'record_job',
    'configure_agents',
    'agent_check',
    'copy_secrets',
    'provision_replica',
    'infra_status',
    'run_agents_job',
    'dump_nc',
    'restore_nc',
    'dump_db',
    'restore_db',
  ])
    allow(task, { changed: true });
}

/** The tasks that changed something, in order, as `task@targets key=value …` (reads left out). */
export function changedTasks(spec: PlanSpec): string[] {
  const reads = ['discover', 'probe_status', 'compare_puppetdb', 'compare_ca', 'check_connection', 'check_pair'];
  return spec.calls
    .filter((c) => !reads.includes(c.task) && !(c.task === 'service' && c.params[0]?.['action'] === 'status'))
    .map((c) => {
      const p = c.params[0] ?? {};
      const detail = ['action', 'receiver', 'replica', 'source', 'peer', 'mode', 'server_list', 'expect_server']
        .filter((k) => p[k] !== undefined)
        .map((k) => `${k}=${String(p[k])}`)
        .join(' ');
      return `${c.task}@${c.targets.join(',')}${detail ? ` ${detail}` : ''}`;
    });
}
