/**
 * Builds what a running command needs from its flags and the project config: the inventory and
 * the runtime (through createRuntime, as a runbook script does), and tears them down again.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PefError } from '../errors/pef-error.js';
import { DEFAULT_CONCURRENCY } from '../executor/executor.js';
import { defaultPrompter } from '../interaction/prompter.js';
import { DEFAULT_LOG_DIR, defaultLogFile } from '../log/run-log.js';
import type { PefRuntime } from '../runtime/create-runtime.js';
import type { Runtime } from '../runtime/runtime.js';
import { loadConfig, type PefConfig } from '../config/load-config.js';
import { runCancellation } from './interrupt.js';
import type { Format } from './output.js';
import type { RunFlags } from './run-flags.js';
import type { Inventory } from '../inventory/inventory.js';
import { normaliseHooks, type HookSettings } from '../workflow/hooks-config.js';

/** A live session: close it in `finally`. */
export interface Session {
  config: PefConfig;
  inventory: Inventory;
  /** The library runtime the command runs through (createRuntime). */
  pef: PefRuntime;
  /** Its core, for code that needs the Runtime itself. */
  runtime: Runtime;
  format: Format;
  close(): Promise<void>;
}

/** Loads the config, inventory and runtime for a run. */
export async function openSession(flags: RunFlags): Promise<Session> {
  const config = await loadConfig(process.cwd());
  const format = flags.format ?? config.format ?? 'human';
  const concurrency = parseConcurrency(flags.concurrency ?? config.concurrency);
  const prompter = defaultPrompter();
  const inventory = await openInventory(flags.inventory ?? config.inventory, prompter);
  const { createRuntime } = await import('../runtime/create-runtime.js');
  const pef = createRuntime(
    {
      inventory,
      format,
      concurrency,
      logFile: flags.logFile ?? defaultLogFile(config.logDir ?? DEFAULT_LOG_DIR),
      prompter,
      noop: flags.noop === true,
      verbose: flags.verbose ?? config.verbose ?? false,
      ...(config.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: config.commandTimeoutMs }),
      hooks: hookSettings(config),
    },
    { cancellation: runCancellation },
  );
  pef.core.log.write('info', `pef ${process.argv.slice(2).join(' ')}`);
  return { config, inventory, pef, runtime: pef.core, format, close: () => pef.close() };
}

/** Loads the inventory named by the flag or config, else ./inventory.yaml. */
export async function openInventory(file: string | undefined, prompter = defaultPrompter()): Promise<Inventory> {
  const { loadInventory } = await import('../inventory/load-inventory.js');
  return loadInventory(resolve(file ?? 'inventory.yaml'), { prompter });
}

/** Reads `--params`: inline JSON, `@file`, or `-` for stdin. */
export function readParamsFlag(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  let text = value;
  let source = '--params';
  if (value === '-') {
    text = readFileSync(0, 'utf8');
    source = '--params - (stdin)';
  } else if (value.startsWith('@')) {
    source = value.slice(1);
    try {
      text = readFileSync(source, 'utf8');
    } catch (error) {
      throw new PefError('pef/file-error', `Cannot read the params file ${source}: ${(error as Error).message}`, {
        file: source,
      });
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PefError(
      'pef/param-error',
      `${source} is not valid JSON: ${(error as Error).message}. Pass an object, e.g. --params '{"name":"value"}'.`,
      { source },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PefError('pef/param-error', `${source} must be a JSON object of parameter names to values.`, { source });
  }
  return parsed as Record<string, unknown>;
}

// Hook commands start in the config file's directory, so `./hooks/dns.sh` means the one beside it.
function hookSettings(config: PefConfig): HookSettings {
  const commands = normaliseHooks(config.hooks, config.hookTimeoutMs);
  return config.file === undefined ? { commands } : { commands, cwd: dirname(config.file), file: config.file };
}

function parseConcurrency(value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_CONCURRENCY;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new PefError('pef/usage-error', `--concurrency must be a whole number of at least 1, not "${value}".`, {
      concurrency: value,
    });
  return n;
}
