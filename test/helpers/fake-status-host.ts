/**
 * A Puppet server as status's probe sees it (src/replication/status-probe.ts), for unit tests of
 * probe_status and the status plan: mode and kill-switch (in a FakePuppetHost's files), job state
 * files, which servers answer on 8140 from it, the CA inventory, the code digest, puppetdb.conf.
 * It answers exactly the command statusProbeCommand builds, printing what the real probe prints.
 */
import { createHash } from 'node:crypto';
import { PefError } from '../../src/errors/pef-error.js';
import { EPOCH_FILE } from '../../src/puppet/epoch.js';
import { KILL_SWITCH_FILE, MODE_FILE, renderModeFile, type FailoverMode } from '../../src/puppet/mode.js';
import { renderJobState, type JobState } from '../../src/replication/job-state.js';
import { statusProbeCommand } from '../../src/replication/status-probe.js';
import type { CommandHandler } from './fake-runtime.js';
import { fakePuppetHost, type FakePuppetHost } from './fake-puppet-host.js';

/** One modelled server. */
export interface FakeStatusHost {
  puppet: FakePuppetHost;
  flavor: 'oss' | 'pe';
  certname: string;
  /** The host's clock, seconds since the epoch. */
  now: number;
  stateDir: 'present' | 'absent' | 'unsafe';
  /** State file name → its text; the texts `refused` and `unreadable` stand for files the probe cannot read. */
  jobs: Record<string, string>;
  /** Server name → whether it answers /status/v1/simple from here (absent: connection refused). */
  answers: Record<string, boolean>;
  caSerial: string | null;
  caInventory: string[] | null;
  code: string | null;
  puppetdbConf: string | null;
}

/** A host with a mode, peer and the given overrides; no jobs, nothing answering, an empty CA. */
export function fakeStatusHost(
  certname: string,
  mode: FailoverMode | null,
  init: Partial<FakeStatusHost> = {},
): FakeStatusHost {
  const files: [string, string][] =
    mode === null
      ? []
      : [[MODE_FILE, renderModeFile({ mode, peer: null, changedAt: '2026-01-01T00:00:00Z', by: 'test' })]];
  return {
    puppet: fakePuppetHost({ files: new Map(files) }),
    flavor: 'oss',
    certname,
    now: Date.parse('2026-06-01T12:00:00Z') / 1000,
    stateDir: 'present',
    jobs: {},
    answers: {},
    caSerial: '0A',
    caInventory: [],
    code: 'c0de',
    puppetdbConf: null,
    ...init,
  };
}

/** A state file's text for `job`, with defaults for a healthy send job of kind ca. */
export function jobText(state: Partial<JobState> & Pick<JobState, 'job'>): string {
  return renderJobState({
    kind: 'ca',
    role: 'send',
    result: 'success',
    lastRun: null,
    lastSuccess: null,
    lastFailure: null,
    error: null,
    durationMs: 12,
    bytes: 100,
    intervalS: 60,
    lag: null,
    ...state,
  });
}

/** What the probe prints on `host` for `command`, or null when it is not statusProbeCommand's. */
export function statusProbeAnswer(host: FakeStatusHost, command: string): string | null {
  const servers = [...command.matchAll(/https:\/\/([^:]+):8140/g)].map((m) => m[1]!);
  const prefix = /head -n (\d+) \| sha256sum/.exec(command)?.[1];
  const options = { servers, ...(prefix === undefined ? {} : { caPrefixLines: Number(prefix) }) };
  if (command !== statusProbeCommand(options)) return null;
  const out = ['@@pef facts', `now=${host.now}`, `flavor=${host.flavor}`, `certname=${host.certname}`];
  out.push(`state_dir=${host.stateDir}`);
  if (host.stateDir === 'present') {
    for (const [file, text] of Object.entries(host.jobs)) {
      if (text === 'refused') out.push(`@@pef refused ${file}`);
      else if (text === 'unreadable') out.push(`@@pef job ${file}`, `@@pef unreadable ${file}`, '');
      else out.push(`@@pef job ${file}`, text);
    }
    out.push('@@pef facts');
  }
  for (const s of servers)
    out.push(
      host.answers[s] === true
        ? `answer.${s}=running http=200`
        : `answer.${s}=curl: (7) Failed to connect to ${s} port 8140: Connection refused http=000`,
    );
  if (host.caInventory !== null) {
    const text = host.caInventory.map((l) => `${l}\n`).join('');
    out.push(`ca.serial=${host.caSerial ?? ''}`, `ca.count=${host.caInventory.length}`, `ca.digest=${sha(text)}`);
    if (prefix !== undefined)
      out.push(
        `ca.prefix_digest=${sha(
          host.caInventory
            .slice(0, Number(prefix))
            .map((l) => `${l}\n`)
            .join(''),
        )}`,
      );
  }
  if (host.code !== null) out.push(`code.digest=${host.code}`);
  if (host.puppetdbConf !== null) out.push('@@pef puppetdb.conf', host.puppetdbConf);
  const mode = host.puppet.files.get(MODE_FILE);
  const ks = host.puppet.files.get(KILL_SWITCH_FILE);
  const epoch = host.puppet.files.get(EPOCH_FILE);
  out.push(
    '@@pef mode',
    `--- pef mode\n${mode ?? ''}\n--- pef epoch\n${epoch ?? ''}${ks === undefined ? '' : `--- pef kill-switch\n${ks}\n`}`,
  );
  return `${out.join('\n')}\n`;
}

/** A handler over named hosts; a name in `down` refuses connections (pef/connect-failed). */
export function statusHostsHandler(
  hosts: Record<string, FakeStatusHost>,
  down: readonly string[] = [],
): CommandHandler {
  return (target, command) => {
    if (down.includes(target)) throw new PefError('pef/connect-failed', `connect ECONNREFUSED ${target}:22`);
    const host = hosts[target];
    const stdout = host ? statusProbeAnswer(host, command) : null;
    return stdout === null
      ? { exitCode: 127, stderr: `fake host ${target}: unexpected command ${command.slice(0, 120)}` }
      : { stdout };
  };
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
