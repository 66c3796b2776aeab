/**
 * A small model of open-source Puppet servers for task unit tests: files, services (behind the
 * lab's service shim) and facter, answering the commands pef's exported builders produce
 * (discovery, mode and kill-switch, facts, ca.cfg, service actions). A command it does not know
 * exits 127 naming it, so a test fails when a task sends something new.
 */
import { DISCOVER_SCRIPT, followUpScript, parseDiscovery } from '../../src/host/discover.js';
import { readFileCommand, writeFileCommand } from '../../src/host/files.js';
import { SERVICE_MANAGER_PROBE, STATUS_UNKNOWN_EXIT, serviceCommand } from '../../src/host/services.js';
import { PefError } from '../../src/errors/pef-error.js';
import { findCaCfgCommand } from '../../src/puppet/ca-service.js';
import { EPOCH_FILE, renderEpochFile } from '../../src/puppet/epoch.js';
import { puppetConfReadCommand, type ConfSetting } from '../../src/puppet/puppet-conf.js';
import {
  FACTS_FILE_NAME,
  KILL_SWITCH_FILE,
  MODE_FILE,
  factQueryCommand,
  factsDirCommand,
  renderModeFile,
  replicationStateCommand,
  type FailoverMode,
} from '../../src/puppet/mode.js';
import type { CommandOptions, CommandOutput } from '../../src/transport/transport.js';
import { shQuote } from '../../src/util/shell-quote.js';
import { runTask } from '../../src/task/run-task.js';
import type { TaskDefinition } from '../../src/task/task.js';
import { fakeRuntime, fakeTarget, type CommandHandler } from './fake-runtime.js';

/** Where the model keeps its configuration. */
export const CONFDIR = '/etc/puppet';
/** The model's facts.d. */
export const FACTS_DIR = '/etc/facter/facts.d';
/** The model's ca.cfg. */
export const CA_CFG = `${CONFDIR}/puppetserver/services.d/ca.cfg`;
/** ca.cfg with the CA service on, as the package ships it. */
export const CA_ENABLED =
  'puppetlabs.services.ca.certificate-authority-service/certificate-authority-service\n#puppetlabs.services.ca.certificate-authority-disabled-service/certificate-authority-disabled-service\n';

/** One modelled host. */
export interface FakePuppetHost {
  files: Map<string, string>;
  /** Service name → running; names not here do not exist. */
  services: Map<string, boolean>;
  hasCa: boolean;
  /** When false, facter does not read FACTS_DIR (a misconfigured external-dir). */
  facterReadsFactsDir: boolean;
  /** Names asked about that are no service of this host (status answers 4, other actions 5). */
  absent: string[];
  /** A service whose start fails. */
  failStart?: string;
  /** puppet.conf's server settings (server, ca_server, …) as `puppet config set` leaves them. */
  puppetConf: ConfSetting[];
  /** What discovery reads as its certname. */
  certname: string;
}

/** A host with puppetserver, puppetdb and postgresql running and a CA; `init.files` are added to ca.cfg. */
export function fakePuppetHost(init: Partial<FakePuppetHost> = {}): FakePuppetHost {
  const { files, ...rest } = init;
  return {
    files: new Map([[CA_CFG, CA_ENABLED], ...(files ?? [])]),
    services: new Map([
      ['postgresql', true],
      ['puppetdb', true],
      ['puppetserver', true],
    ]),
    hasCa: true,
    facterReadsFactsDir: true,
    absent: ['no-such-service'],
    puppetConf: [],
    certname: 'host.lab',
    ...rest,
  };
}

function discovery(host: FakePuppetHost): string {
  const lines = [
    'flavor=oss',
    'service_manager=lab',
    `config.confdir=${CONFDIR}`,
    `config.cadir=${CONFDIR}/puppetserver/ca`,
    `config.certname=${host.certname}`,
    ...['puppet', 'puppetserver', 'puppetdb', 'postgresql'].map(
      (s) => `service.${s}=${host.services.has(s) ? 1 : 0},${host.services.get(s) ? 1 : 0}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function replicationState(host: FakePuppetHost): string {
  const mode = host.files.get(MODE_FILE);
  const epoch = host.files.get(EPOCH_FILE);
  const ks = host.files.get(KILL_SWITCH_FILE);
  return `--- pef mode\n${mode ?? ''}\n--- pef epoch\n${epoch ?? ''}${ks === undefined ? '' : `--- pef kill-switch\n${ks}\n`}`;
}

/** Answers one command on `host`; null when the model does not know it. */
export function answer(host: FakePuppetHost, command: string, options: CommandOptions): Partial<CommandOutput> | null {
  if (command === DISCOVER_SCRIPT) return { stdout: discovery(host) };
  if (command === followUpScript(parseDiscovery(discovery(host)))) return { stdout: `has_ca=${host.hasCa}\n` };
  if (command === SERVICE_MANAGER_PROBE) return { stdout: 'lab\n' };
  if (command === puppetConfReadCommand()) {
    const sets = host.puppetConf.map((c) => `set ${c.section} ${c.key} = ${c.value}\n`);
    return { stdout: `config=${CONFDIR}/puppet.conf\n${sets.join('')}` };
  }
  // repointCommands' `puppet config set KEY VALUE --section SECTION` (plain names: not quoted)
  const set = /^PATH=\S+ puppet config set (\S+) ([\w.-]+) --section (\w+)$/.exec(command);
  const setting = host.puppetConf.find((c) => c.key === set?.[1] && c.section === set[3]);
  if (set?.[2] && setting) {
    setting.value = set[2];
    return { stdout: '' };
  }
  if (command === replicationStateCommand()) return { stdout: replicationState(host) };
  if (command === factsDirCommand()) return { stdout: `${FACTS_DIR}\n` };
  if (command === findCaCfgCommand(CONFDIR)) return { stdout: host.files.has(CA_CFG) ? `${CA_CFG}\n` : '' };
  if (command === factQueryCommand('pef_failover_mode')) {
    const facts = host.facterReadsFactsDir ? (host.files.get(`${FACTS_DIR}/${FACTS_FILE_NAME}`) ?? '') : '';
    return { stdout: `${/^pef_failover_mode: (\S+)$/m.exec(facts)?.[1] ?? ''}\n` };
  }
  if (command === `rm -f ${shQuote(KILL_SWITCH_FILE)}`) {
    host.files.delete(KILL_SWITCH_FILE);
    return {};
  }
  for (const path of [MODE_FILE, KILL_SWITCH_FILE, EPOCH_FILE, `${FACTS_DIR}/${FACTS_FILE_NAME}`, CA_CFG]) {
    if (command === readFileCommand(path)) return { stdout: host.files.get(path) ?? '' };
    if (command.endsWith(writeFileCommand(path, { mode: '644' }))) {
      host.files.set(path, options.stdin ?? '');
      return {};
    }
  }
  for (const [name, running] of [...host.services, ...host.absent.map((a) => [a, false] as const)]) {
    const known = host.services.has(name);
    if (command === serviceCommand('lab', 'status', name))
      return { exitCode: !known ? STATUS_UNKNOWN_EXIT : running ? 0 : 3 };
    for (const action of ['start', 'stop', 'restart'] as const) {
      if (command !== serviceCommand('lab', action, name)) continue;
      if (!known) return { exitCode: 5, stderr: `${name}: no such service` };
      if (action !== 'stop' && host.failStart === name) return { exitCode: 1, stderr: `${name} failed to start` };
      host.services.set(name, action !== 'stop');
      return {};
    }
  }
  return null;
}

/** A handler for `fakeRuntime` over named hosts; an unknown target or command exits 127. */
export function puppetHostsHandler(hosts: Record<string, FakePuppetHost>): CommandHandler {
  return (target, command, options) => {
    const host = hosts[target];
    const out = host ? answer(host, command, options) : null;
    return out ?? { exitCode: 127, stderr: `fake host ${target}: unexpected command ${command.slice(0, 120)}` };
  };
}

/** A mode file's text, for seeding `files`. */
export function modeFileText(mode: FailoverMode, peer: string): string {
  return renderModeFile({ mode, peer, changedAt: '2026-01-01T00:00:00Z', by: 'test' });
}

/** An epoch file's text, for seeding `files`. */
export function epochFileText(epoch: number): string {
  return renderEpochFile({ epoch, changedAt: '2026-01-01T00:00:00Z', by: 'test' });
}

/** Targets `primary` and `replica`; a primary that is 'down' refuses connections (pef/connect-failed). */
export function primaryReplicaHandler(primary: FakePuppetHost | 'down', replica: FakePuppetHost): CommandHandler {
  const hosts = puppetHostsHandler(primary === 'down' ? { replica } : { primary, replica });
  return (target, command, options) => {
    if (target === 'primary' && primary === 'down') throw new PefError('pef/connect-failed', 'ECONNREFUSED');
    return hosts(target, command, options);
  };
}

/** Runs `task` on one of the targets `primary` and `replica` through `handler`; its result and the commands sent. */
export async function runOn(
  task: TaskDefinition,
  handler: CommandHandler,
  target: 'primary' | 'replica',
  params: Record<string, unknown>,
  noop = false,
) {
  const targets = [fakeTarget('primary'), fakeTarget('replica')];
  const fake = fakeRuntime(targets, handler, { noop });
  const set = await runTask(
    fake.runtime,
    task,
    targets.filter((t) => t.name === target),
    params,
  );
  return { result: set.find(target)!, sent: fake.sent.map((s) => s.command) };
}
