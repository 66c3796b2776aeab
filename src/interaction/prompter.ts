/**
 * The one interaction layer. Everything that asks the operator something goes through a
 * Prompter. Without a TTY (CI, cron, runbook scripts) the NonInteractivePrompter refuses with
 * `pef/non-interactive` and names the flag or setting that answers the question instead, so a
 * script never hangs on a prompt or silently takes a default.
 */
import { PefError } from '../errors/pef-error.js';
import { Sensitive } from '../util/sensitive.js';

/** What every question carries besides its text: how to answer it without a TTY. */
export interface QuestionBase {
  message: string;
  /** The flag, parameter or inventory key that answers this question non-interactively. */
  instead: string;
}

/** Asks the operator; see the file comment. */
export interface Prompter {
  readonly interactive: boolean;
  input(q: QuestionBase & { default?: string }): Promise<string>;
  secret(q: QuestionBase): Promise<Sensitive>;
  confirm(q: QuestionBase & { default?: boolean }): Promise<boolean>;
  select<T extends string>(
    q: QuestionBase & { choices: readonly { value: T; name?: string; description?: string }[] },
  ): Promise<T>;
}

/** Refuses every question, naming what to pass instead. */
export class NonInteractivePrompter implements Prompter {
  readonly interactive = false;

  input(q: QuestionBase): Promise<string> {
    return Promise.reject(refusal(q));
  }
  secret(q: QuestionBase): Promise<Sensitive> {
    return Promise.reject(refusal(q));
  }
  confirm(q: QuestionBase): Promise<boolean> {
    return Promise.reject(refusal(q));
  }
  select<T extends string>(q: QuestionBase): Promise<T> {
    return Promise.reject(refusal(q));
  }
}

function refusal(q: QuestionBase): PefError {
  return new PefError(
    'pef/non-interactive',
    `pef needs an answer to "${q.message}" but stdin is not a terminal; pass ${q.instead} instead`,
    { question: q.message, instead: q.instead },
  );
}

/**
 * Asks on the terminal with @inquirer/prompts (loaded only when a question is asked). Ctrl-C at a
 * prompt reaches inquirer as a key, not as a signal (the terminal is in raw mode), so the run's
 * Ctrl-C handler never hears it: it becomes `pef/cancelled` here (exit 130), before anything ran.
 */
export class TerminalPrompter implements Prompter {
  readonly interactive = true;

  async input(q: QuestionBase & { default?: string }): Promise<string> {
    const { input } = await import('@inquirer/prompts');
    return asked(q, input({ message: q.message, ...(q.default === undefined ? {} : { default: q.default }) }));
  }
  async secret(q: QuestionBase): Promise<Sensitive> {
    const { password } = await import('@inquirer/prompts');
    return new Sensitive(await asked(q, password({ message: q.message, mask: '*' })));
  }
  async confirm(q: QuestionBase & { default?: boolean }): Promise<boolean> {
    const { confirm } = await import('@inquirer/prompts');
    return asked(q, confirm({ message: q.message, ...(q.default === undefined ? {} : { default: q.default }) }));
  }
  async select<T extends string>(
    q: QuestionBase & { choices: readonly { value: T; name?: string; description?: string }[] },
  ): Promise<T> {
    const { select } = await import('@inquirer/prompts');
    return asked(q, select<T>({ message: q.message, choices: q.choices.map((c) => ({ ...c })) }));
  }
}

// inquirer's ExitPromptError (Ctrl-C, or the terminal closed) as pef's cancellation.
async function asked<T>(q: QuestionBase, answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (error) {
    if (error instanceof Error && error.name === 'ExitPromptError')
      throw new PefError('pef/cancelled', `Stopped at the question "${q.message}" (Ctrl-C): nothing was changed.`, {
        question: q.message,
      });
    throw error;
  }
}

/** The prompter for this process: interactive only on a TTY and outside CI. */
export function defaultPrompter(): Prompter {
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true && !process.env['CI'];
  return interactive ? new TerminalPrompter() : new NonInteractivePrompter();
}
