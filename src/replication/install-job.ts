/**
 * Installing and removing one host-side job on one host, idempotently: its script and, per the
 * host's service manager, its systemd units (enabled and started) or its lab registration (the
 * shim's pef-replication service, enabled and started). A file is written only when its content,
 * owner or mode differ; a unit is enabled or started only when it is not already.
 */
import { PefError } from '../errors/pef-error.js';
import { makeDirCommand, readFileCommand, statCommand, writeFileCommand } from '../host/files.js';
import type { ServiceManager } from '../host/services.js';
import { shQuote } from '../util/shell-quote.js';
import { jobScriptPath, type JobSpec } from './job-script.js';
import {
  LAB_JOB_DIR,
  LAB_JOB_SERVICE,
  labJobFile,
  systemdTriggers,
  systemdUnits,
  jobUnitName,
  type JobFile,
} from './job-units.js';

/** The host side a job is installed on (a task's ctx or a peer). */
export interface JobHost {
  readonly target: { readonly name: string };
  read(
    command: string,
    options?: { okExitCodes?: readonly number[] },
  ): Promise<{ stdout: string; exitCode: number | null }>;
  change(command: string, options?: { stdin?: string }): Promise<unknown>;
}

/** A job to install: its spec, its script and what triggers it. */
export interface JobInstall {
  spec: JobSpec;
  script: string;
  watch: readonly string[];
}

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/** Every file a job needs on a host with `manager`. */
export function jobFiles(job: JobInstall, manager: ServiceManager): JobFile[] {
  const script: JobFile = { path: jobScriptPath(job.spec.job), content: job.script, mode: '0700' };
  if (manager === 'systemd') return [script, ...systemdUnits(job.spec, job.watch)];
  return [script, labJobFile(job.spec, job.watch)];
}

function unsupported(host: JobHost): PefError {
  return new PefError(
    'pef/task-failed',
    `${host.target.name} runs neither systemd nor the pef lab's service shim: install_replication cannot schedule jobs there. ` +
      'Run `pef plan run sync` from the controller (or cron) instead. Nothing was changed.',
    { host: host.target.name },
  );
}

async function writeIfDifferent(host: JobHost, file: JobFile): Promise<boolean> {
  const now = (await host.read(readFileCommand(file.path))).stdout;
  const attrs = (await host.read(statCommand(file.path))).stdout.trim();
  if (now === file.content && attrs === `root:root ${Number.parseInt(file.mode, 8).toString(8)}`) return false;
  await host.change(writeFileCommand(file.path, { mode: file.mode, owner: 'root', group: 'root' }), {
    stdin: file.content,
  });
  return true;
}

/** Installs `job` on `host` and starts its triggers; returns what changed (empty: nothing). */
export async function installJob(host: JobHost, manager: ServiceManager, job: JobInstall): Promise<string[]> {
  if (manager === 'puppet-resource') throw unsupported(host);
  const changed: string[] = [];
  if (manager === 'lab') {
    if ((await host.read(`test -d ${shQuote(LAB_JOB_DIR)} && echo yes || echo no`)).stdout.trim() !== 'yes') {
      await host.change(
        `${makeDirCommand('/etc/pef', { mode: '0755' })} && ${makeDirCommand(LAB_JOB_DIR, { mode: '0700' })}`,
      );
    }
  }
  for (const file of jobFiles(job, manager)) {
    if (await writeIfDifferent(host, file)) changed.push(file.path);
  }
  if (manager === 'systemd') {
    if (changed.some((p) => !p.startsWith('/usr/'))) await host.change('systemctl daemon-reload');
    for (const unit of systemdTriggers(job.spec.job)) {
      const u = shQuote(unit);
      const on = await host.read(`systemctl is-enabled --quiet ${u} && systemctl is-active --quiet ${u}`, {
        okExitCodes: ANY_EXIT,
      });
      if (on.exitCode !== 0) {
        await host.change(`systemctl enable --now ${u}`);
        changed.push(unit);
      }
    }
  } else {
    const svc = shQuote(LAB_JOB_SERVICE);
    if ((await host.read(`pef-lab-service is-enabled ${svc}`, { okExitCodes: ANY_EXIT })).exitCode !== 0) {
      await host.change(`pef-lab-service enable ${svc}`);
      changed.push(`${LAB_JOB_SERVICE} enabled`);
    }
    if ((await host.read(`pef-lab-service status ${svc}`, { okExitCodes: ANY_EXIT })).exitCode !== 0) {
      await host.change(`pef-lab-service start ${svc}`);
      changed.push(`${LAB_JOB_SERVICE} started`);
    }
  }
  return changed;
}

/** Stops and removes `job` from `host`; returns what changed (empty: it was not there). */
export async function removeJob(host: JobHost, manager: ServiceManager, job: JobInstall): Promise<string[]> {
  if (manager === 'puppet-resource') return [];
  const files = jobFiles(job, manager);
  const present = [];
  for (const f of files) {
    if ((await host.read(`test -e ${shQuote(f.path)} && echo yes || echo no`)).stdout.trim() === 'yes')
      present.push(f.path);
  }
  if (present.length === 0) return [];
  if (manager === 'systemd') {
    const units = [...systemdTriggers(job.spec.job), `${jobUnitName(job.spec.job)}.service`].map(shQuote).join(' ');
    await host.change(`systemctl disable --now ${units} 2>/dev/null || true`);
    await host.change(`rm -f -- ${present.map(shQuote).join(' ')} && systemctl daemon-reload`);
  } else {
    // The shim knows pef-replication only while a job is registered: the last one out stops it first.
    const others = (
      await host.read(
        `ls ${shQuote(LAB_JOB_DIR)} 2>/dev/null | grep '\\.job$' | grep -vxc ${shQuote(`${job.spec.job}.job`)} || true`,
      )
    ).stdout.trim();
    if (others === '0') {
      const svc = shQuote(LAB_JOB_SERVICE);
      await host.change(`pef-lab-service stop ${svc} && pef-lab-service disable ${svc}`);
    }
    // Otherwise the supervisor reads the registrations every round: without this file it no longer runs the job.
    await host.change(`rm -f -- ${present.map(shQuote).join(' ')}`);
  }
  return present;
}
