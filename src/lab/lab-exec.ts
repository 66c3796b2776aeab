/**
 * `pef lab exec HOST -- CMD…`: runs a command inside a lab host (its namespaces, as root, with a
 * clean environment), like `ssh root@host CMD` but without needing sshd to be up.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { labPaths } from './lab-layout.js';
import type { LabHostState } from './lab-state.js';
import { readLabState } from './lab-state.js';
import { isAlive } from './lab-procfs.js';
import { hostArgv, runCommand } from './lab-process.js';
import type { RunOutput } from './lab-process.js';
import { PefError } from '../errors/pef-error.js';

/** Options of `labExec`. */
export interface LabExecOptions {
  dir?: string;
  /** `inherit` streams to the caller's terminal (the CLI); `pipe` (default) captures output. */
  stdio?: 'inherit' | 'pipe';
  input?: string;
  timeoutMs?: number;
}

/** The host named `host` (short name, FQDN or address) of the lab in `dir`, running. */
export async function findLabHost(host: string, dir?: string): Promise<LabHostState> {
  const paths = labPaths(dir);
  const state = await readLabState(paths);
  if (state === undefined) {
    throw new PefError('pef/lab-error', `no lab in ${paths.dir}; start one with \`pef lab up\` (or pass --dir)`, {
      dir: paths.dir,
    });
  }
  const found = state.hosts.find((h) => h.name === host || h.fqdn === host || h.address === host);
  if (found === undefined) {
    throw new PefError(
      'pef/unknown-target',
      `no lab host '${host}'; the lab has ${state.hosts.map((h) => h.name).join(', ')}`,
      {
        host,
        hosts: state.hosts.map((h) => h.name),
      },
    );
  }
  if (!isAlive(found.initPid)) {
    throw new PefError('pef/lab-error', `lab host ${found.fqdn} is not running; \`pef lab up\` rebuilds the lab`, {
      host,
    });
  }
  return found;
}

/** Runs `command` in a lab host; never throws for a non-zero exit (see `exitCode`). */
export async function labExec(
  host: string,
  command: readonly string[],
  options: LabExecOptions = {},
): Promise<RunOutput> {
  if (command.length === 0)
    throw new PefError(
      'pef/usage-error',
      'pef lab exec needs a command after `--`, e.g. `pef lab exec primary -- hostname`',
    );
  const h = await findLabHost(host, options.dir);
  const term = process.env['TERM'];
  const argv = hostArgv(h.initPid, command, term === undefined ? {} : { TERM: term });
  if (options.stdio !== 'inherit') {
    return runCommand(argv, {
      ...(options.input === undefined ? {} : { input: options.input }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd ?? 'nsenter', args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      // Like a shell: 128 + the signal number when the command was killed.
      resolve({ exitCode: code ?? (signal === null ? null : 128 + constants.signals[signal]), stdout: '', stderr: '' }),
    );
  });
}
