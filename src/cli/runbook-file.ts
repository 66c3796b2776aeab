/**
 * Where `pef plan export` puts a runbook: stdout, or a new file (mode 0700, never through a
 * symlink, an existing one only with --force). The text is checked with `bash -n` first, so a
 * runbook that would not parse is never written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { PefError } from '../errors/pef-error.js';

/** Checks `script` with `bash -n`, then writes it to `file` (or stdout). */
export async function writeRunbook(script: string, file: string | undefined, force: boolean): Promise<void> {
  const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  if (check.error !== undefined || check.status !== 0)
    throw new PefError(
      'pef/internal',
      `The runbook does not pass bash -n, so it was not written: ${check.error?.message ?? check.stderr.trim()}. This is a bug in pef; please report it with the plan's name.`,
      {},
    );
  if (file === undefined) {
    process.stdout.write(script);
    return;
  }
  if (force) await unlink(file).catch(() => undefined);
  // 'wx': created here or not at all, so no link planted in its place is followed.
  await writeFile(file, script, { flag: 'wx', mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EEXIST'
      ? existsError(file)
      : new PefError('pef/file-error', `Cannot write the runbook to ${file}: ${error.message}`, { file });
  });
  process.stderr.write(`pef: runbook of plan written to ${file}; read it before you run it (bash ${file}).\n`);
}

/** Throws when `file` exists: checked before the dry run, so a taken name costs no connection. */
export function refuseExisting(file: string): void {
  if (existsSync(file)) throw existsError(file);
}

function existsError(file: string): PefError {
  return new PefError('pef/file-error', `${file} exists; choose another --output or add --force to replace it.`, {
    file,
  });
}
