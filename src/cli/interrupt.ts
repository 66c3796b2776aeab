/**
 * Ctrl-C and SIGTERM for a pef run. The first one cancels the run (`runCancellation`): no new
 * task, step or command starts, the running command gets a grace period, every task's cleanup
 * runs, and main.ts exits 130 once the results (each host's state) are printed. A second one
 * exits at once, printing what each host may need (what tasks noted with `ctx.atRisk`).
 */
import { Cancellation } from '../runtime/cancellation.js';

/** The cancellation of this process's run; the session hands it to the runtime. */
export const runCancellation = new Cancellation();

/** Exit code of an interrupted run (the shell's 128 + SIGINT). */
export const INTERRUPTED_EXIT = 130;

/** Installs the SIGINT/SIGTERM handlers; `exit` ends the process (process.exit in main.ts). */
export function installInterruptHandlers(
  write: (text: string) => void,
  exit: (code: number) => never,
  cancellation: Cancellation = runCancellation,
): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!cancellation.cancelled) {
      cancellation.cancel(signal);
      write(
        `\n${signal}: cancelling. No new command starts; the running one gets up to ${Math.round(cancellation.graceMs / 1000)} s, ` +
          'then every task cleans up (services started again, locks released). Interrupt again to exit at once, without cleanup.\n',
      );
      return;
    }
    const attention = cancellation.attention();
    write(
      `\n${signal} again: exiting now, without waiting for cleanup.\n` +
        (attention.length > 0
          ? `These hosts may need attention:\n${attention.map((l) => `  ${l}`).join('\n')}\n`
          : 'No task had recorded a host in an unusual state; the run log has every command that ran.\n'),
    );
    exit(INTERRUPTED_EXIT);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
