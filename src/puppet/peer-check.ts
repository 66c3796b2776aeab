/**
 * What a promote or demote learns about the other server before changing this one: its mode and
 * kill-switch when it answers, and a connection failure as data (at 3 a.m. the primary is usually
 * dead, which is why the operator is promoting), not as an error.
 */
import { PefError } from '../errors/pef-error.js';
import type { TaskContext } from '../task/task.js';
import type { EpochReading } from './epoch.js';
import { readReplicationState, type FailoverMode, type ReplicationState } from './mode.js';

// The one failure that means "the peer is down": the connection was refused or had nowhere to go.
// A timeout or a dropped connection is not that: the peer may be up behind a slow or cut link,
// and still active. Those stay unknown, and unknown is never read as down (promote refuses).
const UNREACHABLE_KINDS: ReadonlySet<string> = new Set(['pef/connect-failed']);

/** What a task learned about the peer. */
export interface PeerCheck {
  name: string | null;
  /** false: down or unreachable; null: not checked (no peer known) or could not be checked. */
  reachable: boolean | null;
  mode: FailoverMode | null;
  kill_switch: boolean | null;
  /** Its promotion epoch; null: no epoch file (0) or not read. */
  epoch: EpochReading;
  note: string;
  /** Set when the connection failed for a reason other than the host being unreachable. */
  error?: { kind: string; msg: string };
}

/** Reads the peer's mode over `ctx.peer`; connection failures become data (a typo in the name does not). */
export async function checkPeer(
  ctx: TaskContext<unknown>,
  name: string | null,
): Promise<{ check: PeerCheck; state: ReplicationState | null }> {
  if (!name)
    return {
      check: {
        name: null,
        reachable: null,
        mode: null,
        kill_switch: null,
        epoch: null,
        note: 'no peer given or recorded; nothing checked',
      },
      state: null,
    };
  try {
    const peer = await ctx.peer(name);
    const state = await readReplicationState(peer);
    return {
      check: {
        name,
        reachable: true,
        mode: state.mode?.mode ?? null,
        kill_switch: state.killSwitch !== null,
        epoch: state.epoch,
        note: state.mode ? `${name} is ${state.mode.mode}` : `${name} has no mode set`,
      },
      state,
    };
  } catch (error) {
    if (!(error instanceof PefError) || error.kind === 'pef/unknown-target') throw error;
    const unreachable = UNREACHABLE_KINDS.has(error.kind);
    return {
      check: {
        name,
        reachable: unreachable ? false : null,
        mode: null,
        kill_switch: null,
        epoch: null,
        note: unreachable
          ? `${name} is unreachable (${error.kind}); assumed down`
          : `could not establish the state of ${name} (${error.kind}): ${error.message}`,
        error: { kind: error.kind, msg: error.message },
      },
      state: null,
    };
  }
}
