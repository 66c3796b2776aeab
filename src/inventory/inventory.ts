/**
 * A loaded inventory: groups and targets as the file defines them, and the one place that turns
 * names from the command line or a plan into Targets. Names resolve as in Bolt: comma-separated;
 * each is a group, a target or an alias (exactly, in that order), else a case-insensitive glob
 * over all three. Plugin references are resolved only for the targets asked for, once each.
 * @see docs/inventory.md
 */
import { PefError } from '../errors/pef-error.js';
import type { Prompter } from '../interaction/prompter.js';
import { REDACTED_TEXT } from '../util/sensitive.js';
import { buildTarget, transportOf, type TargetDefaults } from './build-target.js';
import { formatPath, formatProblem, inventoryError, problemAt, type InventoryProblem } from './inventory-problems.js';
import { SECRET_KEYS, isPluginRef, type PluginRef } from './inventory-schema.js';
import type { DataBlock, InventoryGroup, InventoryTree, MergedTarget } from './inventory-tree.js';
import { globMatcher, isGlob, nearNames } from './name-match.js';
import { PluginResolver, type PluginOutcome, type PluginSite } from './plugin-resolver.js';
import { roleOf, type Role, type Target } from './target.js';
import { parseTargetUri } from './target-uri.js';
import type { DataPath, YamlSource } from './yaml-source.js';

/** Re-exported so callers need only this module. */
export type { InventoryGroup } from './inventory-tree.js';

/** Options for `Inventory.resolve`. */
export interface ResolveOptions {
  /** Turn a name that is not in the inventory but looks like a host into a target (Bolt does). */
  allowAdHoc?: boolean;
}

/** What `pef inventory show` prints: the file as pef reads it, plugins unresolved, secrets masked. */
export interface InventoryDescription {
  file: string;
  groups: InventoryGroup[];
  targets: {
    name: string;
    uri?: string;
    aliases: string[];
    groups: string[];
    role?: string;
    config: Record<string, unknown>;
    vars: Record<string, unknown>;
    facts: Record<string, unknown>;
    features: string[];
  }[];
  warnings: string[];
}

/** What the Inventory is built from; loadInventory provides it. */
export interface InventoryInit {
  /** The file as the user named it (used in messages). */
  file: string;
  source: YamlSource;
  tree: InventoryTree;
  env: NodeJS.ProcessEnv;
  prompter: Prompter;
  defaults: TargetDefaults;
}

/** A loaded inventory; create it with `loadInventory`. See the file comment. */
export class Inventory {
  /** The inventory file, as given to loadInventory. */
  readonly file: string;
  /** Problems that do not stop pef (Bolt options it ignores, duplicate entries), as `file:line:col path: message`. */
  readonly warnings: readonly string[];
  /** Every group, `all` first. */
  readonly groups: readonly InventoryGroup[];

  readonly #source: YamlSource;
  readonly #tree: InventoryTree;
  readonly #resolver: PluginResolver;
  readonly #defaults: TargetDefaults;
  readonly #built = new Map<string, Target>();

  constructor(init: InventoryInit) {
    this.file = init.file;
    this.#source = init.source;
    this.#tree = init.tree;
    this.#defaults = init.defaults;
    this.#resolver = new PluginResolver(init.env, init.prompter);
    this.groups = init.tree.groups;
    this.warnings = [...init.tree.warnings]
      .sort((a, b) => a.line - b.line || a.column - b.column)
      .map((w) => formatProblem(init.file, w));
  }

  /** Every target name in the file, in file order. */
  allTargetNames(): string[] {
    return [...this.#tree.targets.keys()];
  }

  /**
   * The targets `spec` names (comma-separated names, groups, aliases, globs, `all`), without
   * duplicates, in the order named. Unknown names fail with `pef/unknown-target`.
   */
  async resolve(spec: string | readonly string[], options: ResolveOptions = {}): Promise<Target[]> {
    const { names, adHoc } = this.#select(spec, options);
    return this.#materialize(names, adHoc);
  }

  /**
   * The targets `spec` names, built for display (`pef inventory show`): plugin references are
   * peeked, not resolved, so no secret is read and no question asked. Secrets show as
   * `[sensitive]`; a value missing now (an unset variable, a prompt) is a warning, not an error,
   * because it is needed only when a connection is made. Nothing here is cached for a run.
   */
  async show(spec: string | readonly string[]): Promise<{ targets: Target[]; warnings: string[] }> {
    const { names } = this.#select(spec, {});
    const problems: TargetProblem[] = [];
    const notes: TargetProblem[] = [];
    const targets: Target[] = [];
    for (const name of names) {
      const merged = this.#tree.targets.get(name);
      if (!merged) continue;
      const target = await this.#build(merged, problems, [], async (ref, site, where) => {
        const peeked = await this.#resolver.peek(ref, site);
        if (peeked.warning !== undefined) notes.push({ ...where, message: peeked.warning, target: name });
        return { ok: true, value: peeked.value };
      });
      if (target) targets.push(target);
    }
    if (problems.length > 0) throw inventoryError(this.file, byTarget(problems));
    return { targets, warnings: byTarget(notes).map((n) => formatProblem(this.file, n)) };
  }

  #select(spec: string | readonly string[], options: ResolveOptions): { names: string[]; adHoc: ReadonlySet<string> } {
    const names = (typeof spec === 'string' ? [spec] : spec)
      .flatMap((s) => s.split(/[\s,]+/))
      .filter((s) => s.length > 0);
    if (names.length === 0) {
      throw new PefError(
        'pef/unknown-target',
        `no targets named; give target names, groups, aliases or globs (e.g. all)`,
        { spec },
      );
    }
    const selected: string[] = [];
    const adHoc = new Set<string>();
    const unknown: string[] = [];
    for (const name of names) {
      const found = this.#match(name);
      if (found) selected.push(...found);
      // A valid uri is never a glob (host names cannot hold * ? [), though [::1] looks like one.
      else if (options.allowAdHoc === true && parseTargetUri(name).ok) {
        selected.push(name);
        adHoc.add(name);
      } else unknown.push(name);
    }
    if (unknown.length > 0) throw this.#unknownError(unknown);
    return { names: [...new Set(selected)], adHoc };
  }

  /** Targets whose `vars.role` is `role`, in file order. */
  async targetsWithRole(role: Role): Promise<Target[]> {
    // A literal role decides without resolving; a plugin-given role needs the target resolved.
    const candidates = [...this.#tree.targets.values()].filter(
      (t) => t.vars['role'] === role || isPluginRef(t.vars['role']),
    );
    const targets = await this.#materialize(
      candidates.map((t) => t.name),
      new Set(),
    );
    return targets.filter((t) => roleOf(t) === role);
  }

  /** The inventory as pef reads it, with plugin references unresolved and secrets masked. */
  describe(): InventoryDescription {
    return {
      file: this.file,
      groups: this.groups.map((g) => ({ name: g.name, targets: [...g.targets], groups: [...g.groups] })),
      targets: [...this.#tree.targets.values()].map((t) => {
        const role = t.vars['role'];
        return {
          name: t.name,
          ...(t.uri === undefined ? {} : { uri: t.uri }),
          aliases: [...t.aliases],
          groups: [...t.groups],
          ...(typeof role === 'string' ? { role } : {}),
          config: maskSecrets(t.config) as Record<string, unknown>,
          vars: { ...t.vars },
          facts: { ...t.facts },
          features: [...t.features],
        };
      }),
      warnings: [...this.warnings],
    };
  }

  /** Same as describe(), so JSON.stringify(inventory) is safe to print. */
  toJSON(): InventoryDescription {
    return this.describe();
  }

  #match(name: string): string[] | undefined {
    const tree = this.#tree;
    const group = this.groups.find((g) => g.name === name);
    if (group) return [...group.targets];
    if (tree.targets.has(name)) return [name];
    const aliased = tree.aliases.get(name);
    if (aliased !== undefined) return [aliased];
    // Hostnames are case-insensitive, so a plain name that differs only in case matches too (Bolt).
    const matches = globMatcher(name);
    const found = [
      ...this.groups.filter((g) => matches(g.name)).flatMap((g) => g.targets),
      ...[...tree.targets.keys()].filter(matches),
      ...[...tree.aliases].filter(([a]) => matches(a)).map(([, t]) => t),
    ];
    return found.length > 0 ? found : undefined;
  }

  async #materialize(names: readonly string[], adHoc: ReadonlySet<string>): Promise<Target[]> {
    const problems: TargetProblem[] = [];
    const refusals: Refusal[] = [];
    const targets: Target[] = [];
    // One after the other: prompts must not interleave.
    for (const name of names) {
      const cached = this.#built.get(name);
      if (cached) {
        targets.push(cached);
        continue;
      }
      const merged = this.#tree.targets.get(name) ?? (adHoc.has(name) ? this.#adHoc(name) : undefined);
      if (!merged) continue;
      const target = await this.#build(merged, problems, refusals);
      if (target) {
        if (!this.#built.has(name)) this.#built.set(name, target);
        targets.push(this.#built.get(name)!);
      }
    }
    if (problems.length > 0)
      throw inventoryError(this.file, [...byTarget(problems), ...refusals.map((r) => r.problem)]);
    if (refusals.length === 1) throw refusals[0]!.error;
    if (refusals.length > 1) {
      throw new PefError('pef/non-interactive', refusals.map((r) => r.error.message).join('\n'), {
        questions: refusals.map((r) => r.error.details),
      });
    }
    return targets;
  }

  #adHoc(name: string): MergedTarget {
    const all: DataBlock = this.#tree.allData;
    return {
      name,
      uri: name,
      aliases: [],
      groups: [],
      config: all.config,
      vars: all.vars,
      facts: all.facts,
      features: all.features,
      path: [],
    };
  }

  async #build(
    merged: MergedTarget,
    problems: TargetProblem[],
    refusals: Refusal[],
    plugin: PluginStep = (ref, site) => this.#resolver.resolve(ref, site),
  ): Promise<Target | undefined> {
    let failed = false;
    const resolveValue = async (value: unknown, path: DataPath): Promise<unknown> => {
      if (isPluginRef(value)) {
        const written = this.#tree.pluginPaths.get(value) ?? merged.path;
        const position = this.#source.position(written);
        const yamlPath = formatPath(written);
        const location = `${this.file}:${position.line}:${position.column} ${yamlPath}`;
        const outcome = await plugin(
          value as PluginRef,
          { path, target: merged.name, location },
          { ...position, path: yamlPath },
        );
        if (outcome.ok) return outcome.value;
        failed = true;
        // A refused prompt is cached, so every target sharing it refuses the same way: keep one.
        if ('refusal' in outcome) {
          if (!refusals.some((r) => r.error === outcome.refusal))
            refusals.push({
              error: outcome.refusal,
              problem: { ...position, path: yamlPath, message: outcome.refusal.message },
            });
        } else problems.push({ ...position, path: yamlPath, message: outcome.message, target: merged.name });
        return undefined;
      }
      if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (const [i, v] of value.entries()) out.push(await resolveValue(v, [...path, i]));
        return out;
      }
      if (typeof value === 'object' && value !== null) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
          const resolved = await resolveValue(v, [...path, k]);
          // An optional env_var that is not set leaves the key unset, so defaults apply.
          if (resolved !== undefined) out[k] = resolved;
        }
        return out;
      }
      return value;
    };
    const config = (await resolveValue(merged.config, ['config'])) as Record<string, unknown>;
    const vars = (await resolveValue(merged.vars, ['vars'])) as Record<string, unknown>;
    const facts = (await resolveValue(merged.facts, ['facts'])) as Record<string, unknown>;
    if (failed) return undefined;
    const transport = transportOf({
      name: merged.name,
      config,
      ...(merged.uri === undefined ? {} : { uri: merged.uri }),
    });
    if (transport !== 'ssh' && transport !== 'local') {
      problems.push({
        ...problemAt(
          this.#source,
          merged.path,
          `uses Bolt's ${transport} transport, which pef does not speak; pef reaches hosts over ssh or local`,
        ),
        target: merged.name,
      });
      return undefined;
    }
    return buildTarget({ ...merged, config, vars, facts }, this.#defaults);
  }

  #unknownError(names: readonly string[]): PefError {
    const groups = this.groups.map((g) => g.name);
    const targets = this.allTargetNames();
    const everything = [...groups, ...targets, ...this.#tree.aliases.keys()];
    const lines = names.map((n) => {
      const glob = isGlob(n) && !parseTargetUri(n).ok;
      const near = nearNames(glob ? n.replace(/[*?[\]!]/g, '') : n, everything);
      const hint = near.length > 0 ? `; did you mean ${near.map((x) => `"${x}"`).join(' or ')}?` : '';
      return glob
        ? `no group, target or alias in ${this.file} matches "${n}"${hint}`
        : `unknown target "${n}": not a group, target or alias in ${this.file}${hint}`;
    });
    lines.push(`known groups: ${list(groups)}`, `known targets: ${list(targets)}`);
    return new PefError('pef/unknown-target', lines.join('\n'), { names, file: this.file, groups, targets });
  }
}

// How #build turns one plugin reference into a value: resolve it for a run, or peek at it for show.
type PluginStep = (
  ref: PluginRef,
  site: PluginSite,
  where: Omit<InventoryProblem, 'message'>,
) => Promise<PluginOutcome>;

// A problem met while resolving one target; the same reference failing for several targets is one line.
interface TargetProblem extends InventoryProblem {
  target: string;
}

function byTarget(problems: readonly TargetProblem[]): InventoryProblem[] {
  const merged = new Map<string, { problem: InventoryProblem; targets: string[] }>();
  for (const { target, ...problem } of problems) {
    const key = `${problem.line}:${problem.column}:${problem.path}:${problem.message}`;
    const entry = merged.get(key);
    if (entry) entry.targets.push(target);
    else merged.set(key, { problem, targets: [target] });
  }
  return [...merged.values()].map(({ problem, targets }) => ({
    ...problem,
    message: `${problem.message} (${targets.length === 1 ? 'target' : 'targets'} ${targets.join(', ')})`,
  }));
}

// A prompt refused for want of a TTY: its own error, and the same as a positioned problem.
interface Refusal {
  error: PefError;
  problem: InventoryProblem;
}

function list(names: readonly string[], max = 15): string {
  if (names.length === 0) return '(none)';
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} … and ${names.length - max} more`;
}

function maskSecrets(value: unknown, key?: string): unknown {
  if (key !== undefined && SECRET_KEYS.has(key)) {
    if (isPluginRef(value)) return 'default' in value ? { ...value, default: REDACTED_TEXT } : { ...value };
    return REDACTED_TEXT;
  }
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}
