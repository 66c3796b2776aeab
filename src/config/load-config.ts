/**
 * Project defaults for the CLI, found by cosmiconfig (`pef.config.{js,mjs,json,yaml}`,
 * `.pefrc{,.json,.yaml,.yml}`, `package.json#pef`), walking up to the project root. Flags
 * always win over the config file. Unknown keys are errors that name the file.
 */
import { z } from 'zod';
import { FORMATS } from '../cli/output.js';
import { PefError } from '../errors/pef-error.js';
import { hooksConfigSchema } from '../workflow/hooks-config.js';

const configSchema = z.strictObject({
  inventory: z.string().min(1).optional().describe('Inventory file used when --inventory is not given'),
  format: z.enum(FORMATS).optional(),
  concurrency: z.number().int().min(1).max(1000).optional(),
  verbose: z.boolean().optional(),
  logDir: z.string().min(1).optional().describe('Directory for per-run debug logs (default .pef/logs)'),
  commandTimeoutMs: z
    .number()
    .min(0)
    .optional()
    .describe('Limit of one command on a target in ms when the step names none (default 600000; 0: no limit)'),
  hooks: hooksConfigSchema.optional(),
  hookTimeoutMs: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Limit of one hook command in ms when its entry names none (default 120000)'),
});

/** The project's pef defaults. */
export type PefConfig = z.infer<typeof configSchema> & { file?: string };

/** Loads the nearest config, or `{}` when there is none. */
export async function loadConfig(cwd: string): Promise<PefConfig> {
  const { cosmiconfig } = await import('cosmiconfig');
  let found: { config: unknown; filepath: string; isEmpty?: boolean } | null;
  try {
    found = await cosmiconfig('pef', { searchStrategy: 'project' }).search(cwd);
  } catch (error) {
    throw new PefError('pef/file-error', `Could not read the pef config: ${(error as Error).message}`, {});
  }
  if (!found || found.isEmpty) return {};
  const parsed = configSchema.safeParse(found.config ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new PefError('pef/validation-error', `Invalid pef config in ${found.filepath}:\n  ${problems.join('\n  ')}`, {
      file: found.filepath,
      problems,
    });
  }
  return { ...parsed.data, file: found.filepath };
}
