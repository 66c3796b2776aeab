/**
 * Puppet Enterprise's own DR commands (`puppet infrastructure …`, `puppet access login`) as the
 * provision_replica, promote_replica, forget_replica and infra_status tasks use them: the exact
 * command lines, the status JSON read into one shape (in pe-infra-status.ts), the RBAC token (a
 * file on the host, never read by pef; a password only ever on stdin), and failures turned into messages that say what
 * PE answered (exit code and a redacted stderr excerpt) and what state that leaves.
 *
 * The status JSON is PE's (the lab's stand-in prints the same): an array of service entries, each
 * with `service`, `display_name`, `server`, `state`, `type` and a `status` whose
 * `replication.mode` is `source` on the primary and `replica` on a replica. It does not say
 * whether a replica is *enabled* (agents fail over to it) or which topology it has: pef cannot
 * tell a provisioned replica from an enabled one by the status.
 */
import { PefError } from '../errors/pef-error.js';
import type { CommandOutput } from '../transport/transport.js';
import { parseKeyValues } from '../util/key-value.js';
import { redact, type Sensitive } from '../util/sensitive.js';
import { shQuote } from '../util/shell-quote.js';
import { infraStatusCommand, parseInfraStatus, type InfraStatus } from './pe-infra-status.js';

/** PE's puppet: an ssh command's PATH often lacks /opt/puppetlabs/bin (peadm calls it by path too). */
export const PE_PUPPET = '/opt/puppetlabs/bin/puppet';

/** The file whose presence makes a host Puppet Enterprise (as `discoverHost` decides). */
export const PE_VERSION_FILE = '/opt/puppetlabs/server/pe_version';

/** Where `puppet access login` keeps the token, and where PE's commands look by default. */
export const DEFAULT_TOKEN_FILE = '~/.puppetlabs/token';

/** Lifetime of the token pef asks for when it logs in itself: long enough for a provision. */
export const LOGIN_LIFETIME = '1h';

/** PE's replica topologies. */
export const TOPOLOGIES = ['mono', 'mono-with-compile'] as const;

/** One of TOPOLOGIES. */
export type Topology = (typeof TOPOLOGIES)[number];

/** Runs and reads the status on `host`; a failing status command becomes a task error. */
export async function readInfraStatus(
  host: { readonly target: { readonly name: string }; read(command: string): Promise<{ stdout: string }> },
  task: string,
): Promise<InfraStatus> {
  let stdout: string;
  try {
    stdout = (await host.read(infraStatusCommand())).stdout;
  } catch (error) {
    throw infrastructureFailure(
      task,
      host.target.name,
      'infrastructure status --format json',
      error,
      "pef reads the status before changing anything, so nothing was changed. Are PE's services running there?",
    );
  }
  return parseInfraStatus(stdout, host.target.name);
}

/** Token file as a shell word: `~/…` stays expandable (`"$HOME"/…`), anything else is quoted. */
export function tokenFileWord(path: string): string {
  return path.startsWith('~/') ? `"$HOME"/${shQuote(path.slice(2))}` : shQuote(path);
}

/** Options of `provisionReplicaCommand` and `enableReplicaCommand`. */
export interface ReplicaCommandOptions {
  tokenFile: string;
  topology?: Topology | undefined;
  skipAgentConfig?: boolean | undefined;
}

/** `puppet infrastructure provision replica …` (on the primary), optionally enabling it in the same run. */
export function provisionReplicaCommand(
  certname: string,
  options: ReplicaCommandOptions & { enable: boolean },
): string {
  return [
    `${PE_PUPPET} infrastructure provision replica ${shQuote(certname)} --yes --token-file ${tokenFileWord(options.tokenFile)}`,
    ...(options.enable ? ['--enable'] : []),
    ...replicaFlags(options),
  ].join(' ');
}

/** `puppet infrastructure enable replica …` (on the primary), for a replica provisioned without --enable. */
export function enableReplicaCommand(certname: string, options: ReplicaCommandOptions): string {
  return [
    `${PE_PUPPET} infrastructure enable replica ${shQuote(certname)} --yes --token-file ${tokenFileWord(options.tokenFile)}`,
    ...replicaFlags(options),
  ].join(' ');
}

function replicaFlags(options: ReplicaCommandOptions): string[] {
  return [
    ...(options.topology ? [`--topology ${shQuote(options.topology)}`] : []),
    ...(options.skipAgentConfig ? ['--skip-agent-config'] : []),
  ];
}

/** `puppet infrastructure promote replica --yes` (on the replica; PE needs no token for it). */
export function promoteReplicaCommand(options: { topology?: Topology | undefined } = {}): string {
  return `${PE_PUPPET} infrastructure promote replica --yes${options.topology ? ` --topology ${shQuote(options.topology)}` : ''}`;
}

/** `puppet infrastructure forget <certname>` (on the primary). */
export function forgetReplicaCommand(certname: string, tokenFile: string): string {
  return `${PE_PUPPET} infrastructure forget ${shQuote(certname)} --token-file ${tokenFileWord(tokenFile)}`;
}

/** The PQL query seed 004 runs Puppet on after a replica is provisioned: every active node. */
export const ALL_NODES_QUERY = 'nodes {deactivated is null and expired is null}';

/** `puppet job run` on the nodes `query` selects (on the primary): an orchestrated agent run. */
export function jobRunCommand(query: string, tokenFile: string): string {
  return `${PE_PUPPET} job run --no-enforce-environment --query ${shQuote(query)} --token-file ${tokenFileWord(tokenFile)}`;
}

/** `puppet access login`; the password goes on its stdin, never into this text. */
export function accessLoginCommand(user: string): string {
  return `${PE_PUPPET} access login --username ${shQuote(user)} --lifetime ${LOGIN_LIFETIME}`;
}

/** Exits 0 when the token file exists and is not empty; never prints the token. */
export function tokenCheckCommand(tokenFile: string): string {
  return `test -s ${tokenFileWord(tokenFile)}`;
}

/** Prints `pe_version=…` (empty when not PE) and, when asked, `certname=…` of this host. */
export function peHostProbeCommand(options: { certname: boolean }): string {
  const pe = shQuote(PE_VERSION_FILE);
  return [
    `if [ -r ${pe} ]; then echo "pe_version=$(cat ${pe})"; else echo pe_version=; fi`,
    ...(options.certname
      ? [
          `echo "certname=$(${PE_PUPPET} config print certname 2>/dev/null || puppet config print certname 2>/dev/null)"`,
        ]
      : []),
  ].join('; ');
}

/** What `peHostProbeCommand` found. */
export interface PeHostProbe {
  peVersion: string | null;
  certname: string | null;
}

/** Reads `peHostProbeCommand` output. */
export function parsePeHostProbe(stdout: string): PeHostProbe {
  const kv = parseKeyValues(stdout);
  return { peVersion: kv.get('pe_version') || null, certname: kv.get('certname') || null };
}

/** Throws unless the probe found PE (and a certname, when one was asked for). */
export function assertPeHost(
  probe: PeHostProbe,
  host: string,
  task: string,
  options: { certname: boolean },
): asserts probe is PeHostProbe {
  if (probe.peVersion === null) {
    throw new PefError(
      'pef/task-failed',
      `${task} drives Puppet Enterprise's \`puppet infrastructure\`, but ${host} is not PE (no ${PE_VERSION_FILE}). On open-source Puppet use pef's own sync_ca/dump_db/promote. Nothing was changed.`,
      { host },
    );
  }
  if (options.certname && probe.certname === null) {
    throw new PefError(
      'pef/task-failed',
      `Could not read ${host}'s certname (\`${PE_PUPPET} config print certname\` printed nothing). Is Puppet working there? Nothing was changed.`,
      { host },
    );
  }
}

/** How a task was told which replica: its inventory name (certname read there) or its certname. */
export interface ReplicaChoice {
  replica?: string | undefined;
  replica_certname?: string | undefined;
}

/**
 * The replica's certname as PE knows it: `replica_certname` as given, or read on the inventory
 * target `replica` (`puppet config print certname`). Exactly one of the two.
 */
export async function resolveReplicaCertname(
  choice: ReplicaChoice,
  peer: (name: string) => Promise<{ read(command: string): Promise<{ stdout: string }> }>,
  task: string,
): Promise<string> {
  if ((choice.replica === undefined) === (choice.replica_certname === undefined)) {
    throw new PefError(
      'pef/param-error',
      `${task} needs exactly one of replica=<inventory name> (pef reads its certname there) or replica_certname=<certname> (for a replica pef cannot reach).`,
      { task },
    );
  }
  if (choice.replica_certname !== undefined) return choice.replica_certname;
  const name = choice.replica as string;
  let probe: PeHostProbe;
  try {
    probe = parsePeHostProbe((await (await peer(name)).read(peHostProbeCommand({ certname: true }))).stdout);
  } catch (error) {
    if (error instanceof PefError && error.kind === 'pef/unknown-target') throw error;
    throw new PefError(
      'pef/task-failed',
      `${task}: could not read the certname of ${name} (${error instanceof Error ? redact(error.message) : String(error)}). If it is down, pass replica_certname=<its certname> instead of replica. Nothing was changed.`,
      { replica: name },
    );
  }
  if (probe.certname === null) {
    throw new PefError(
      'pef/task-failed',
      `${task}: ${name} printed no certname (\`${PE_PUPPET} config print certname\`). Pass replica_certname=<its certname>. Nothing was changed.`,
      { replica: name },
    );
  }
  return probe.certname;
}

/** A host as the token helper needs it (the task context or a peer). */
export interface TokenHost {
  readonly target: { readonly name: string };
  read(command: string, options?: { okExitCodes?: readonly number[] }): Promise<CommandOutput>;
  change(command: string, options?: { stdin?: string }): Promise<CommandOutput | undefined>;
}

/** How the operator gave an RBAC token (the tasks' `token_file` / `rbac_password` / `rbac_user`). */
export interface TokenSource {
  token_file?: string | undefined;
  rbac_password?: Sensitive | undefined;
  rbac_user: string;
}

/** Throws `pef/param-error` when both ways of giving a token were used; call before reading anything. */
export function assertTokenSource(source: TokenSource, task: string): void {
  if (source.rbac_password !== undefined && source.token_file !== undefined) {
    throw new PefError(
      'pef/param-error',
      `${task}: give token_file or rbac_password, not both (with rbac_password pef runs \`puppet access login\`, which writes ${DEFAULT_TOKEN_FILE}).`,
      { task },
    );
  }
}

/**
 * Makes sure an RBAC token file is on `host` and returns its path: with `rbac_password`, runs
 * `puppet access login` (password on stdin; a change, so noop lists it) and uses the file it
 * writes; otherwise checks `token_file` (default ~/.puppetlabs/token) with `test -s`. The token
 * itself is never read.
 */
export async function ensureToken(host: TokenHost, source: TokenSource, task: string, noop: boolean): Promise<string> {
  assertTokenSource(source, task);
  if (source.rbac_password !== undefined) {
    try {
      await host.change(accessLoginCommand(source.rbac_user), { stdin: `${source.rbac_password.unwrap()}\n` });
    } catch (error) {
      throw infrastructureFailure(
        task,
        host.target.name,
        'access login',
        error,
        `No token was written; check rbac_user (${source.rbac_user}) and the password, then run ${task} again. Nothing else was changed.`,
      );
    }
    if (noop) return DEFAULT_TOKEN_FILE;
  }
  const file = source.token_file ?? DEFAULT_TOKEN_FILE;
  const check = await host.read(tokenCheckCommand(file), { okExitCodes: [0, 1] });
  if (check.exitCode !== 0) {
    throw new PefError(
      'pef/task-failed',
      `No RBAC token on ${host.target.name}: ${file} is missing or empty. Either log in there first (\`puppet access login --lifetime ${LOGIN_LIFETIME}\` writes ${DEFAULT_TOKEN_FILE}; ` +
        `pass token_file=<path> if yours is elsewhere), or pass rbac_password (sensitive: e.g. \`--params -\` with JSON on stdin) and optionally rbac_user (default admin) so pef logs in. Nothing was changed.`,
      { host: host.target.name, token_file: file },
    );
  }
  return file;
}

/**
 * A failed `puppet infrastructure`/`puppet access` run as a task error: the exit code, the last
 * lines PE printed (redacted), and `left`: what state that leaves and what to do.
 */
export function infrastructureFailure(
  task: string,
  host: string,
  action: string,
  error: unknown,
  left: string,
): PefError {
  if (error instanceof PefError && error.kind === 'pef/command-failed') {
    const exitCode = error.details['exitCode'];
    const stderr = typeof error.details['stderr'] === 'string' ? error.details['stderr'] : '';
    const excerpt = redact(stderr)
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean)
      .slice(-8)
      .join('\n  ');
    const how = typeof exitCode === 'number' ? `exited with ${exitCode}` : 'was killed by a signal';
    return new PefError(
      'pef/task-failed',
      `${task} on ${host}: \`puppet ${action}\` ${how}${excerpt ? `:\n  ${excerpt}` : ' (no error output)'}\n${left}`,
      {
        host,
        action,
        exitCode,
        stderr: excerpt,
      },
    );
  }
  const message = error instanceof Error ? redact(error.message) : String(error);
  const kind = error instanceof PefError ? error.kind : 'pef/internal';
  return new PefError(
    'pef/task-failed',
    `${task} on ${host}: \`puppet ${action}\` did not finish (${kind}: ${message})\n${left}`,
    { host, action, cause_kind: kind },
  );
}

/** What `primaryAndReplica` needs of a task's context. */
interface PrimaryTaskContext {
  readonly params: ReplicaChoice & TokenSource;
  readonly target: { readonly name: string };
  read(command: string): Promise<{ stdout: string }>;
  peer(name: string): Promise<{ read(command: string): Promise<{ stdout: string }> }>;
}

/**
 * For the tasks that run on the primary and name a replica (provision_replica, forget_replica):
 * checks the token source and that this is a PE host, returns this host's certname, the replica's
 * and PE's status; refuses when they are the same host or when PE says another host is the
 * primary. Reads only.
 */
export async function primaryAndReplica(
  ctx: PrimaryTaskContext,
  task: string,
): Promise<{ self: string; certname: string; status: InfraStatus }> {
  const host = ctx.target.name;
  assertTokenSource(ctx.params, task);
  const probe = parsePeHostProbe((await ctx.read(peHostProbeCommand({ certname: true }))).stdout);
  assertPeHost(probe, host, task, { certname: true });
  const self = probe.certname as string;
  const certname = await resolveReplicaCertname(ctx.params, (n) => ctx.peer(n), task);
  if (certname === self) {
    throw new PefError(
      'pef/task-failed',
      `${task}: ${certname} is this host (${host}), the primary; name the replica with replica=<inventory name>. Nothing was changed.`,
      { host, replica: certname },
    );
  }
  const status = await readInfraStatus(ctx, task);
  if (status.primary !== null && status.primary !== self) {
    throw new PefError(
      'pef/task-failed',
      `${task} runs on the primary, and PE says that is ${status.primary}, not ${self} (${host}). Run it there (-t <${status.primary}'s inventory name>). Nothing was changed.`,
      { host, primary: status.primary },
    );
  }
  return { self, certname, status };
}
