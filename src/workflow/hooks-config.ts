/**
 * Hooks: commands from the pef config file that run on the controller at named points of the
 * workflows (`before-failover`, `after-switchover`, …), for what pef leaves to the site: the DNS
 * or load-balancer change, a ticket, a chat message. This file holds the points and the config
 * schema; src/workflow/hooks.ts runs them.
 *
 * In the config (`pef.config.yaml`, `.pefrc`, …, see docs/hooks.md):
 *
 *     hooks:
 *       after-failover: /usr/local/bin/dns-switch "$PEF_ACTIVE"
 *       before-switchover:
 *         - command: /usr/local/bin/lb-drain "$PEF_PREVIOUS"
 *           timeoutMs: 30000
 */
import { z } from 'zod';

/** The workflows that have hook points (a `before-` and an `after-` each). */
export const HOOK_WORKFLOWS = ['switchover', 'failover', 'promote', 'failback'] as const;

/** A named point a hook runs at: `before-<workflow>` or `after-<workflow>`. */
export type HookPoint = `${'before' | 'after'}-${(typeof HOOK_WORKFLOWS)[number]}`;

/** Every hook point, in workflow order. */
export const HOOK_POINTS: readonly HookPoint[] = HOOK_WORKFLOWS.flatMap((w) => [`before-${w}`, `after-${w}`] as const);

/** How long one hook command may run when its entry names no `timeoutMs` (2 minutes). */
export const DEFAULT_HOOK_TIMEOUT_MS = 120_000;

/** One command of a hook point, normalised. */
export interface HookCommand {
  /** Shell text, run with `/bin/sh -c` on the controller. */
  command: string;
  /** Killed (with what it started) after this many ms. */
  timeoutMs: number;
}

/** The hooks of a run, by point; a point without commands is absent. */
export type HooksConfig = Partial<Record<HookPoint, readonly HookCommand[]>>;

/** The hooks a runtime runs: the commands by point, where they start, and the config file they came from. */
export interface HookSettings {
  commands: HooksConfig;
  /** The directory hook commands start in (the config file's); default: the home directory. */
  cwd?: string;
  /** The config file, for messages. */
  file?: string;
}

const command = z.string().trim().min(1, 'a hook command must not be empty');
const entry = z.union([
  command,
  z.strictObject({
    command,
    timeoutMs: z.number().int().min(1).max(86_400_000).optional().describe('limit of this command in ms'),
  }),
]);

/** The `hooks` key of the pef config: per point, one command or a list (run in order, the first failure stops). */
export const hooksConfigSchema = z
  .partialRecord(z.enum(HOOK_POINTS as [HookPoint, ...HookPoint[]]), z.union([entry, z.array(entry).min(1)]))
  .describe('commands run on the controller at named points of the workflows (docs/hooks.md)');

/** The config's `hooks` (as the schema accepts them) in the one shape the runner takes. */
export function normaliseHooks(
  raw: z.output<typeof hooksConfigSchema> | undefined,
  defaultTimeoutMs = DEFAULT_HOOK_TIMEOUT_MS,
): HooksConfig {
  const out: HooksConfig = {};
  for (const point of HOOK_POINTS) {
    const given = raw?.[point];
    if (given === undefined) continue;
    out[point] = (Array.isArray(given) ? given : [given]).map((e) =>
      typeof e === 'string'
        ? { command: e, timeoutMs: defaultTimeoutMs }
        : { command: e.command, timeoutMs: e.timeoutMs ?? defaultTimeoutMs },
    );
  }
  return out;
}
