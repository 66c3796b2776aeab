/**
 * The split-brain guard of the promoting tasks (promote, promote_replica): while the other server
 * answers as active and is not fenced, or its state cannot be established, a promotion would
 * leave two primaries (agents split between them, two CAs signing), so the task refuses with
 * `pef/split-brain-guard` (exit 2) before it changes anything. `force=true` overrides it only
 * together with a confirmation naming the other server: `confirm=<its inventory name>` in
 * scripts, or typed at a prompt on a terminal, so a forced promotion is never one reflex away.
 */
import { PefError } from '../errors/pef-error.js';
import type { Prompter } from '../interaction/prompter.js';

/** What the guard needs to decide. */
export interface GuardCheck {
  /** The promoting task, for messages. */
  task: string;
  /** The server being promoted. */
  host: string;
  /** The other server, as the operator must name it to confirm a forced promotion. */
  other: string;
  /** Why promoting now is dangerous (a full sentence, ending in "Nothing was changed."); null: it is not. */
  refusal: string | null;
  force: boolean;
  /** The `confirm` parameter, if given. */
  confirm: string | undefined;
  /** Extra details for the error. */
  details?: Record<string, unknown>;
}

/**
 * Throws `pef/split-brain-guard` when the promotion must not go ahead (see the file comment);
 * returns true when it goes ahead forced (and confirmed), false when nothing stood in its way.
 */
export async function splitBrainGuard(check: GuardCheck, prompter: Prompter): Promise<boolean> {
  if (check.refusal === null) return false;
  const details = { host: check.host, other: check.other, ...check.details };
  if (!check.force) throw new PefError('pef/split-brain-guard', check.refusal, details);
  const answer =
    check.confirm ??
    (
      await prompter.input({
        message: `${check.task} on ${check.host} with force=true while ${check.other} may still be active (two primaries). Type ${check.other} to go ahead`,
        instead: `confirm=${check.other}`,
      })
    ).trim();
  if (answer !== check.other) {
    throw new PefError(
      'pef/split-brain-guard',
      `${check.task} refused on ${check.host}: force=true needs confirm=${check.other} (the other server's name), got ${JSON.stringify(answer)}. Nothing was changed.`,
      { ...details, confirm: answer },
    );
  }
  return true;
}
