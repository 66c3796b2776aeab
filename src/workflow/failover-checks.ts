/**
 * Whether an unplanned failover may go on, judged from what was measured (pure, so the rules can
 * be read and tested without hosts). The primary is looked at from two places, the controller
 * (an SSH login, a connect to 8140) and the replica (connects to the primary's SSH port and
 * 8140), and only when both find it silent is it called down. Two views that disagree are a
 * partition: promoting then could leave two primaries serving agents, so it is refused unless the
 * primary is known to be fenced or the operator forces it. A primary pef can log in to is fenced
 * by the plan before the replica is promoted. Anything not measured is unknown, never "down".
 *
 * The replica must be reachable, set up as this pair's spare (passive; active only when a failover
 * is being resumed), hold a CA, and run open source Puppet (the PE steps are not built yet).
 */
import { PefError } from '../errors/pef-error.js';
import type { PortAnswer } from '../host/port-probe.js';
import type { FailoverMode } from '../puppet/mode.js';
import type { StatusProbe } from '../replication/status-probe.js';

/** What the primary looks like from one place. */
export type ViewState = 'answers' | 'silent' | 'unknown';

/** The primary as the controller and the replica saw it, and its own state when pef could log in. */
export interface PrimaryViews {
  /** The controller's SSH login: ok, or the error kind and message it failed with. */
  controllerLogin: { ok: true } | { ok: false; kind: string; message: string };
  /** The controller's connect to the primary's 8140. */
  controller8140: PortAnswer;
  /** The replica's connects to the primary's SSH port and 8140; null when the replica could not be asked. */
  fromReplica: { ssh: PortAnswer; puppetserver: PortAnswer } | null;
  /** The primary's own mode and kill-switch, read over the login; null when it could not be read. */
  primaryState: { mode: string | null; killSwitch: boolean } | null;
}

/** The verdict on the primary. */
export type PrimaryState =
  | 'down' // silent from both places
  | 'reachable' // pef can log in, and the replica sees it as the controller does
  | 'split' // the two places disagree: a partition
  | 'unfenceable' // it answers, but pef cannot log in to fence it
  | 'unknown'; // a view could not be measured

/** One check's verdict, as the plan prints it. */
export interface FailoverFinding {
  check: 'replica' | 'controller_view' | 'replica_view' | 'primary';
  status: 'ok' | 'warning' | 'error';
  message: string;
}

/** What the plan does next, and why. */
export interface FailoverAssessment {
  primary: PrimaryState;
  /** pef can log in to the primary: the fence step stops its services and demotes it. */
  canFence: boolean;
  /** The primary already is fenced (passive or fenced, kill-switch on, 8140 closed from both places). */
  fenced: boolean;
  /** The failover goes on only because force was given (a partition, an unknown view). */
  forced: boolean;
  /** The replica is already active: a failover being resumed. */
  resumed: boolean;
  findings: FailoverFinding[];
  /** Why the failover may not go on; empty when it may. */
  blockers: string[];
}

/** Failover's input: the views of the primary, what probe_status read on the replica, and force. */
export interface FailoverInput {
  primaryName: string;
  replicaName: string;
  views: PrimaryViews;
  /** The replica's probe_status value; null when the replica could not be read. */
  replica: StatusProbe | null;
  replicaError: string | null;
  force: boolean;
}

// SSH errors that mean nothing answered (refused, no route, no answer in time).
const SILENT_LOGIN = new Set(['pef/connect-failed', 'pef/timeout']);
// SSH errors that mean sshd answered but pef cannot act there.
const ANSWERED_LOGIN = new Set([
  'pef/auth-failed',
  'pef/host-key-mismatch',
  'pef/host-key-unknown',
  'pef/escalation-failed',
]);

/** The controller's view: an SSH login or an open 8140 is an answer. */
export function controllerView(views: PrimaryViews): ViewState {
  const login = views.controllerLogin;
  if (login.ok || ANSWERED_LOGIN.has(login.kind) || views.controller8140.state === 'open') return 'answers';
  if (!SILENT_LOGIN.has(login.kind) || views.controller8140.state === 'unknown') return 'unknown';
  return 'silent';
}

/** The replica's view: either port open is an answer; both refused or unanswered is silence. */
export function replicaView(views: PrimaryViews): ViewState {
  const seen = views.fromReplica;
  if (!seen) return 'unknown';
  const states = [seen.ssh.state, seen.puppetserver.state];
  if (states.includes('open')) return 'answers';
  if (states.includes('unknown')) return 'unknown';
  return 'silent';
}

/** Judges the failover; see the file comment. */
export function assessFailover(input: FailoverInput): FailoverAssessment {
  const { views, primaryName: p, replicaName: r } = input;
  const findings: FailoverFinding[] = [];
  const blockers: string[] = [];
  const replica = input.replica;

  // The replica: the one server the failover needs.
  if (!replica) {
    blockers.push(
      `the replica ${r} cannot be read (${input.replicaError ?? 'no answer'}): there is nothing to fail over to.`,
    );
    findings.push({
      check: 'replica',
      status: 'error',
      message: `${r} cannot be read: ${input.replicaError ?? 'no answer'}`,
    });
  } else {
    const mode = replica.replication.mode?.mode ?? null;
    const problems: string[] = [];
    if (replica.flavor !== 'oss')
      problems.push(
        `${r} runs Puppet Enterprise: the failover plan drives open source Puppet only so far; fail over PE with the promote_replica task (docs/runbook.md)`,
      );
    if (mode === null)
      problems.push(
        `${r} has no failover mode: it was never set up as the spare (run \`pef plan run setup\` while the primary is up)`,
      );
    if (replica.ca.count === null || replica.ca.count === 0)
      problems.push(`${r} holds no copy of the CA (inventory.txt): promoted, it could not sign or verify agents`);
    if (problems.length > 0) {
      blockers.push(...problems);
      findings.push({ check: 'replica', status: 'error', message: problems.join('; ') });
    } else
      findings.push({
        check: 'replica',
        status: 'ok',
        message: `${r} is ${mode ?? '?'}${replica.replication.killSwitch ? ' (kill-switch on)' : ''} and holds the CA (${replica.ca.count ?? 0} certificates)`,
      });
  }
  const resumed = replica?.replication.mode?.mode === 'active';

  const fromController = controllerView(views);
  const fromReplica = replicaView(views);
  findings.push(controllerFinding(p, views, fromController));
  findings.push(replicaFinding(p, r, views, fromReplica));

  const login = views.controllerLogin.ok;
  const closed = (a: PortAnswer | undefined) => a !== undefined && a.state !== 'open';
  const stateMode = views.primaryState?.mode ?? null;
  const fenced =
    login &&
    views.primaryState !== null &&
    (stateMode === 'passive' || stateMode === 'fenced') &&
    views.primaryState.killSwitch &&
    closed(views.controller8140) &&
    closed(views.fromReplica?.puppetserver);

  let primary: PrimaryState;
  if (fromController === 'silent' && fromReplica === 'silent') primary = 'down';
  else if (fromController === 'unknown' || fromReplica === 'unknown') primary = 'unknown';
  else if (fromController !== fromReplica) primary = 'split';
  else primary = login ? 'reachable' : 'unfenceable';

  if (login && views.primaryState === null) {
    primary = 'unknown';
    findings.push({ check: 'primary', status: 'error', message: `${p}'s mode and kill-switch could not be read` });
  } else if (login)
    findings.push({
      check: 'primary',
      status: fenced ? 'ok' : 'warning',
      message: fenced
        ? `${p} is already fenced (${stateMode}, kill-switch on, Puppet Server closed)`
        : `${p} is ${stateMode ?? 'without a mode'}${views.primaryState?.killSwitch ? ', kill-switch on' : ''}: it will be fenced (Puppet Server and PuppetDB stopped, demoted, kill-switch on) before ${r} is promoted`,
    });
  if (login && stateMode === 'active' && resumed)
    blockers.push(
      `both ${p} and ${r} say active: decide which one agents should use, then demote the other (\`pef task run demote -t <it>\`)`,
    );

  const excuse = fenced ? 'it is fenced' : input.force ? 'force=true' : null;
  let forced = false;
  if (primary === 'split' || primary === 'unfenceable' || primary === 'unknown') {
    const why = {
      split: `the controller ${fromController === 'answers' ? 'reaches' : 'cannot reach'} ${p} but ${r} ${fromReplica === 'answers' ? 'reaches' : 'cannot reach'} it: a partition, and ${p} may still serve agents`,
      unfenceable: `${p} answers but pef cannot log in to fence it (${views.controllerLogin.ok ? '' : views.controllerLogin.kind}), so it may still serve agents`,
      unknown: `whether ${p} is up could not be established from both places`,
    }[primary];
    // An unreadable spare is blocker enough; its unknown view of the primary follows from it.
    if (excuse === null && replica)
      blockers.push(
        `${why}. Refused: promoting ${r} now could leave two primaries. Fence ${p} (stop its Puppet Server, demote it) or make sure it is off, then run again; or run with force=true if you know it cannot serve agents.`,
      );
    else {
      forced = excuse === 'force=true';
      findings.push({ check: 'primary', status: 'warning', message: `${why}; going on because ${excuse}` });
    }
  }
  return { primary, canFence: login, fenced, forced, resumed, findings, blockers };
}

function controllerFinding(p: string, views: PrimaryViews, view: ViewState): FailoverFinding {
  const login = views.controllerLogin;
  const ssh = login.ok ? 'SSH login works' : `SSH: ${login.kind} (${firstLine(login.message)})`;
  const port = `8140: ${views.controller8140.state}${views.controller8140.state === 'open' ? '' : ` (${views.controller8140.detail})`}`;
  return {
    check: 'controller_view',
    status: view === 'unknown' ? 'error' : view === 'answers' ? 'warning' : 'ok',
    message: `from the controller, ${p} ${view === 'silent' ? 'is silent' : view === 'answers' ? 'answers' : 'is in an unknown state'}: ${ssh}; ${port}`,
  };
}

function replicaFinding(p: string, r: string, views: PrimaryViews, view: ViewState): FailoverFinding {
  const seen = views.fromReplica;
  const ports = seen
    ? `SSH port: ${seen.ssh.state} (${seen.ssh.detail}); 8140: ${seen.puppetserver.state} (${seen.puppetserver.detail})`
    : 'the replica could not be asked';
  return {
    check: 'replica_view',
    status: view === 'unknown' ? 'error' : view === 'answers' ? 'warning' : 'ok',
    message: `from ${r}, ${p} ${view === 'silent' ? 'is silent' : view === 'answers' ? 'answers' : 'is in an unknown state'}: ${ports}`,
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** A server's mode as read, or `unreadable` when probe_status got no answer from it. */
export type FailoverReading = FailoverMode | null | 'unreadable';

/**
 * Which server a failover promotes (`to`) and which it leaves (`from`), from the modes, not the
 * inventory's roles (after a switchover the inventory's primary is the spare). Without `to`: the
 * one passive server, when the other is active, fenced or unreadable. Anything else (both passive
 * after a demote, an active server alone) is ambiguous: the operator names it.
 */
export function failoverDirection(
  servers: readonly [string, string],
  readings: Record<string, FailoverReading>,
  to?: string,
): { from: string; to: string } {
  const [a, b] = servers;
  if (to !== undefined) {
    if (to !== a && to !== b)
      throw new PefError('pef/validation-error', `to=${to} is not one of the pair's servers (${a}, ${b}).`, { to });
    return { from: to === a ? b : a, to };
  }
  const passive = servers.filter((s) => readings[s] === 'passive');
  const [spare] = passive;
  if (passive.length === 1 && spare !== undefined) {
    const other = spare === a ? b : a;
    if (['active', 'fenced', 'unreadable'].includes(readings[other] ?? 'none')) return { from: other, to: spare };
  }
  const state = servers.map((s) => `${s}: ${readings[s] ?? 'no mode'}`).join('; ');
  throw new PefError(
    'pef/validation-error',
    `Cannot tell which server the failover should make active (${state}). Name it: pef plan run failover to=<inventory name> ` +
      `(a failover stopped after fence_primary or promote resumes that way too, with --from <step>).`,
    { readings },
  );
}
