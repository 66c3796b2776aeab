/**
 * `pef lab …` without the built CLI: `node --import ./test/helpers/lab-ts-loader.mjs
 * test/helpers/lab-cli.ts up|down|status|exec …`. PefErrors print like the real CLI's.
 */
import { labCommand } from '../../src/cli/commands/lab.js';
import { PefError } from '../../src/errors/pef-error.js';

try {
  await labCommand((code) => (process.exitCode = code))
    .exitOverride()
    .parseAsync(process.argv);
} catch (error) {
  if (error instanceof PefError) {
    process.stderr.write(`Error: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else if ((error as { code?: string }).code?.startsWith('commander.') === true) {
    process.exitCode = (error as { exitCode?: number }).exitCode ?? 1;
  } else {
    throw error;
  }
}
