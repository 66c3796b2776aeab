/**
 * Which way a switchover goes, from the servers' modes, not the inventory's roles: after a
 * switchover the inventory still says `role: primary` for the server that is now the spare, and
 * the same inventory must serve the switchover back. The inventory's roles only name the pair;
 * which of the two is active is what /etc/pef/mode says on each (status reads it the same way).
 *
 * Without `to`, the direction is inferred only from the steady state (one server active, the
 * other passive, no kill-switch on either): in any other state (a switchover stopped half-way,
 * two actives, an unreadable server) guessing could promote the wrong server, so the operator
 * names it (`to=<inventory name>`). Pure: the plan reads the modes and passes them in.
 */
import { PefError } from '../errors/pef-error.js';
import type { FailoverMode } from '../puppet/mode.js';

/** A server's mode as read (null: no mode file, or the server could not be read). */
export type ReadMode = FailoverMode | null;

/** The modes and kill-switches of the pair, by inventory name (status's `modes` and `kill_switch`). */
export interface ModeReading {
  modes: Record<string, ReadMode>;
  kill_switch: Record<string, string | null>;
}

/** A switchover's direction: `from` is active now and becomes the spare; `to` becomes active. */
export interface SwitchDirection {
  from: string;
  to: string;
}

/** The direction for the pair `servers` (inventory names); see the file comment. */
export function switchDirection(
  servers: readonly [string, string],
  reading: ModeReading,
  to?: string,
): SwitchDirection {
  const [a, b] = servers;
  if (to !== undefined) {
    if (to !== a && to !== b)
      throw new PefError('pef/validation-error', `to=${to} is not one of the pair's servers (${a}, ${b}).`, {
        to,
        servers,
      });
    return { from: to === a ? b : a, to };
  }
  const steady =
    servers.every((s) => reading.kill_switch[s] === null) &&
    [reading.modes[a], reading.modes[b]].sort().join(',') === 'active,passive';
  if (!steady) {
    const state = servers
      .map((s) => `${s}: ${reading.modes[s] ?? 'unknown'}${reading.kill_switch[s] ? ', kill-switch on' : ''}`)
      .join('; ');
    throw new PefError(
      'pef/validation-error',
      `Cannot tell which server should become active (${state}): one must be active and the other passive, neither with its kill-switch on. ` +
        `If a switchover stopped half-way, resume it naming the server it was making active: pef plan run switchover to=<name> --from <step>.`,
      { modes: reading.modes, kill_switch: reading.kill_switch },
    );
  }
  return reading.modes[a] === 'active' ? { from: a, to: b } : { from: b, to: a };
}

/**
 * Why the pair is not in the state a step expects, or null: before the promotion `from` is active
 * and `to` passive; after it, the other way round. Steps check this so a resumed run with the
 * wrong direction stops before it changes anything.
 */
export function directionProblem(
  phase: 'before' | 'after',
  direction: SwitchDirection,
  modes: Record<string, ReadMode>,
): string | null {
  const [active, passive] = phase === 'before' ? [direction.from, direction.to] : [direction.to, direction.from];
  if (modes[active] === 'active' && modes[passive] === 'passive') return null;
  return (
    `expected ${active} active and ${passive} passive ${phase === 'before' ? 'before' : 'after'} the promotion, ` +
    `found ${direction.from}: ${modes[direction.from] ?? 'unknown'}, ${direction.to}: ${modes[direction.to] ?? 'unknown'}. Nothing was changed by this step.`
  );
}
