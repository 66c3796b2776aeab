/**
 * Reads, validates and builds an inventory file. Every problem in the file is reported at
 * once, each at its line and column, in one `pef/inventory-error`; a missing file is a
 * `pef/file-error`. Bad input never surfaces as a stack trace.
 * @see docs/inventory.md
 */
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { PefError } from '../errors/pef-error.js';
import { defaultPrompter, type Prompter } from '../interaction/prompter.js';
import { Inventory } from './inventory.js';
import { inventoryError, problemsFromIssues } from './inventory-problems.js';
import { InventorySchema, expectationFor } from './inventory-schema.js';
import { buildInventoryTree } from './inventory-tree.js';
import { YamlSource } from './yaml-source.js';

/** Options for loadInventory. */
export interface LoadInventoryOptions {
  /** Environment for env_var plugins and `~` (HOME); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Asks prompt plugins' questions; a NonInteractivePrompter refuses them. Default: defaultPrompter(). */
  prompter?: Prompter;
}

/** Loads the Bolt v2 inventory at `file`; see the file comment. */
export async function loadInventory(file: string, options: LoadInventoryOptions = {}): Promise<Inventory> {
  const env = options.env ?? process.env;
  const text = await readInventoryFile(file);
  const { source, errors, warnings } = YamlSource.parse(text);
  if (errors.length > 0) {
    throw inventoryError(
      file,
      errors.map((e) => ({ line: e.line, column: e.column, path: '', message: `YAML syntax error: ${e.message}` })),
    );
  }
  if (source.empty) {
    throw inventoryError(file, [
      {
        line: 1,
        column: 1,
        path: '',
        message: 'the inventory is empty; expected a mapping with targets and/or groups (see docs/inventory.md)',
      },
    ]);
  }
  let data: unknown;
  try {
    data = source.toJS();
  } catch (error) {
    // toJS throws only for alias bombs and the like.
    throw inventoryError(file, [
      { line: 1, column: 1, path: '', message: `cannot read the YAML: ${(error as Error).message}` },
    ]);
  }
  const parsed = InventorySchema.safeParse(data, { error: expectationFor });
  if (!parsed.success) throw inventoryError(file, problemsFromIssues(parsed.error.issues, data, source));

  const tree = buildInventoryTree(parsed.data, source);
  tree.warnings.unshift(
    ...warnings.map((w) => ({ line: w.line, column: w.column, path: '', message: `YAML: ${w.message}` })),
  );
  const home = env['HOME'] ?? homedir();
  return new Inventory({
    file,
    source,
    tree,
    env,
    prompter: options.prompter ?? defaultPrompter(),
    defaults: { dir: dirname(resolve(file)), home, user: currentUser(env) },
  });
}

async function readInventoryFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const absolute = resolve(file);
    if (code === 'ENOENT') {
      throw new PefError(
        'pef/file-error',
        `inventory file not found: ${absolute}; create it (see inventory.example.yaml) or name another with --inventory <file>`,
        { file: absolute, code },
      );
    }
    if (code === 'EISDIR') {
      throw new PefError(
        'pef/file-error',
        `${absolute} is a directory, not an inventory file; name the file with --inventory <file>`,
        { file: absolute, code },
      );
    }
    throw new PefError('pef/file-error', `cannot read inventory file ${absolute}: ${(error as Error).message}`, {
      file: absolute,
      code,
    });
  }
}

// Bolt's default ssh user is the user running it.
function currentUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env['USER'] ?? env['LOGNAME'] ?? 'root';
  }
}
