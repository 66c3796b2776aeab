/**
 * What a server decides when it compares itself with its peer before replicating: carry on, hold
 * (send nothing this pass), fence itself, or stay fenced. Two ordered rule tables decide (the
 * rules on its own mode, then the rules on the pair), and the same tables are both `fenceVerdict`
 * (for tasks and tests) and the `case` statements of the host-side jobs
 * (src/replication/fence-check.ts), so the two cannot disagree.
 *
 * The rules, first match wins (the peer's epoch is compared with this server's: gt, eq, lt):
 * - a fenced server stays fenced: it sends nothing and keeps its Puppet Server stopped;
 * - a passive server goes on to the usual checks (it sends nothing anyway, and is no danger);
 * - a peer that is active with a higher epoch was promoted while this server was away: fence;
 * - a peer with a higher epoch that is not active: hold, never send to the newer side;
 * - two active servers (equal or lower peer epoch): hold, an operator must decide;
 * - otherwise carry on.
 * A peer whose state is unknown (no answer, an answer that does not parse) is a hold with a
 * FAILURE, and so is an own epoch file that does not parse: unknown is never read as safe.
 */
import type { FailoverMode } from './mode.js';

/** What the comparison decides. */
export type FenceAction = 'proceed' | 'hold' | 'fence' | 'stay-fenced';

/** A server's mode for the rules: its mode file's, or `none` without a (valid) one. */
export type FenceMode = FailoverMode | 'none';

/** How the peer's epoch compares with this server's. */
export type EpochOrder = 'gt' | 'eq' | 'lt';

/** One rule: `*` matches anything; `why` is the log text (placeholders $own_epoch, $peer_epoch, $peer_mode). */
export interface FenceRule {
  own: FenceMode | '*';
  peer: FenceMode | '*';
  order: EpochOrder | '*';
  action: FenceAction;
  /** The log level of the decision; null: nothing worth a log line. */
  level: 'WARNING' | 'FAILURE' | null;
  why: string;
}

/** The rules that decide from this server's own mode alone (no need to ask the peer); checked first. */
export const OWN_RULES: readonly FenceRule[] = [
  {
    own: 'fenced',
    peer: '*',
    order: '*',
    action: 'stay-fenced',
    level: null,
    why: 'this server is fenced (epoch $own_epoch): it sends nothing until an operator promotes it or clears the fence',
  },
  { own: 'passive', peer: '*', order: '*', action: 'proceed', level: null, why: 'this server is passive' },
];

/** The rules that need the peer's mode and epoch, in order; the last one matches everything. */
export const PAIR_RULES: readonly FenceRule[] = [
  {
    own: '*',
    peer: 'active',
    order: 'gt',
    action: 'fence',
    level: 'WARNING',
    why: "the peer is active with epoch $peer_epoch, newer than this server's $own_epoch: it was promoted while this server was away; fencing this server (mode fenced, Puppet Server stopped, replication switched off)",
  },
  {
    own: '*',
    peer: '*',
    order: 'gt',
    action: 'hold',
    level: 'FAILURE',
    why: "the peer has epoch $peer_epoch, newer than this server's $own_epoch, but is $peer_mode: nothing is sent to the newer side; decide which server is active",
  },
  {
    own: 'active',
    peer: 'active',
    order: '*',
    action: 'hold',
    level: 'FAILURE',
    why: 'two active servers: the peer is active too (epoch $peer_epoch, this server $own_epoch); nothing is sent; demote the one that must not serve',
  },
  {
    own: '*',
    peer: '*',
    order: '*',
    action: 'proceed',
    level: null,
    why: 'the peer is $peer_mode (epoch $peer_epoch)',
  },
];

/** Why nothing is sent when this server's own epoch file does not parse. */
export const OWN_EPOCH_INVALID =
  "this server's epoch file (/etc/pef/epoch) does not hold a valid epoch; nothing is sent until it is repaired";

/** Why nothing is sent when the peer's state is unknown. */
export const PEER_UNKNOWN = "the peer's mode and epoch could not be read; nothing is sent while its state is unknown";

/** One server's side of the comparison. */
export interface FenceView {
  mode: FenceMode;
  /** Its epoch; 'invalid' when its epoch file does not parse (fail closed). */
  epoch: number | 'invalid';
}

/** The decision and why. */
export interface FenceDecision {
  action: FenceAction;
  level: 'WARNING' | 'FAILURE' | null;
  message: string;
}

/** Decides what this server (`own`) does given its `peer` (null: the peer's state is unknown); see the file comment. */
export function fenceVerdict(own: FenceView, peer: FenceView | null): FenceDecision {
  if (own.epoch === 'invalid') return { action: 'hold', level: 'FAILURE', message: OWN_EPOCH_INVALID };
  const ownRule = OWN_RULES.find((r) => r.own === own.mode);
  if (ownRule) return decision(ownRule, own.epoch, null);
  if (peer === null || peer.epoch === 'invalid') return { action: 'hold', level: 'FAILURE', message: PEER_UNKNOWN };
  const order: EpochOrder = peer.epoch > own.epoch ? 'gt' : peer.epoch < own.epoch ? 'lt' : 'eq';
  const rule = PAIR_RULES.find(
    (r) =>
      (r.own === '*' || r.own === own.mode) &&
      (r.peer === '*' || r.peer === peer.mode) &&
      (r.order === '*' || r.order === order),
  );
  // The last rule matches everything, so there always is one.
  return decision(rule ?? PAIR_RULES[PAIR_RULES.length - 1]!, own.epoch, { mode: peer.mode, epoch: peer.epoch });
}

function decision(rule: FenceRule, ownEpoch: number, peer: { mode: FenceMode; epoch: number } | null): FenceDecision {
  return {
    action: rule.action,
    level: rule.level,
    message: rule.why
      .replace(/\$own_epoch/g, String(ownEpoch))
      .replace(/\$peer_epoch/g, peer ? String(peer.epoch) : '?')
      .replace(/\$peer_mode/g, peer ? peer.mode : '?'),
  };
}
