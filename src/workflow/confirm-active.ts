/**
 * The confirmation every destructive workflow plan (switchover, failover, promote, failback) asks
 * before its first change: the operator types the inventory name of the server that will become
 * active. Typing a name, not answering y/n, is what makes a tired operator look at which server
 * the plan is about to promote. `--yes` (PlanContext.yes) answers it in advance; without a
 * terminal and without `--yes` the prompter refuses (`pef/non-interactive`, exit 1, naming
 * `--yes`), so a script never hangs and never promotes by default. A dry run asks nothing: it
 * changes nothing.
 */
import { PefError } from '../errors/pef-error.js';
import type { PlanContext } from '../plan/plan.js';

/** How many wrong names are accepted before the plan stops (nothing run). */
export const CONFIRM_ATTEMPTS = 3;

/** Asks the operator to type `becomesActive` (an inventory name); resolves when confirmed, throws otherwise. */
export async function confirmActive(
  ctx: Pick<PlanContext<unknown>, 'noop' | 'yes' | 'prompter' | 'log'>,
  becomesActive: string,
): Promise<void> {
  if (ctx.noop) {
    ctx.log(`confirmation: a real run asks to type "${becomesActive}" (or takes --yes)`);
    return;
  }
  if (ctx.yes) {
    ctx.log(`confirmed with --yes: ${becomesActive} becomes the active server`);
    return;
  }
  const question = {
    message: `${becomesActive} will become the active server. Type its inventory name to go on (Ctrl-C stops)`,
    instead: '--yes',
  };
  for (let attempt = 1; attempt <= CONFIRM_ATTEMPTS; attempt++) {
    const answer = (await ctx.prompter.input(question)).trim();
    if (answer === becomesActive) {
      ctx.log(`confirmed: ${becomesActive} becomes the active server`);
      return;
    }
    ctx.log(`"${answer}" is not ${becomesActive}; nothing was changed`);
  }
  throw new PefError(
    'pef/usage-error',
    `Not confirmed: ${CONFIRM_ATTEMPTS} answers did not name ${becomesActive}, the server that would become active. Nothing was changed.`,
    { expected: becomesActive },
  );
}
