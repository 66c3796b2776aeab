/**
 * Turns zod issues into problems a person can act on: each names the line and column, the
 * YAML path, what the file says and what is expected. All problems of a file are thrown
 * together as one `pef/inventory-error`.
 */
import type { z } from 'zod';
import { PefError, type PefErrorKind } from '../errors/pef-error.js';
import {
  ConfigSchema,
  GroupSchema,
  InventoryFileSchema,
  PluginRefSchema,
  SECRET_KEYS,
  SshConfigSchema,
  TargetObjectSchema,
  expectationFor,
  isPluginRef,
} from './inventory-schema.js';
import { nearNames } from './name-match.js';
import type { DataPath, SourcePosition, YamlSource } from './yaml-source.js';

/** One problem in an inventory file. `path` is the YAML path, e.g. `groups[0].config.ssh.port`. */
export interface InventoryProblem {
  line: number;
  column: number;
  path: string;
  message: string;
}

/** `file:line:col path: message`, the form every inventory problem and warning is printed in. */
export function formatProblem(file: string, p: InventoryProblem): string {
  return `${file}:${p.line}:${p.column}${p.path === '' ? '' : ` ${p.path}`}: ${p.message}`;
}

/** The one error thrown for a file's problems; details carry them for JSON output. */
export function inventoryError(
  file: string,
  problems: readonly InventoryProblem[],
  kind: PefErrorKind = 'pef/inventory-error',
): PefError {
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
  const head =
    sorted.length === 1 ? `invalid inventory ${file}:` : `invalid inventory ${file} (${sorted.length} problems):`;
  return new PefError(kind, [head, ...sorted.map((p) => formatProblem(file, p))].join('\n'), { file, errors: sorted });
}

/** `groups[0].targets[1].config.ssh.port` for a data path. */
export function formatPath(path: DataPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** A problem at `path`, positioned by the source. */
export function problemAt(
  source: YamlSource,
  path: DataPath,
  message: string,
  options: { key?: boolean } = {},
): InventoryProblem {
  return { ...source.position(path, options), path: formatPath(path), message };
}

/** What a value is, for "found …"; secrets are described by type only. */
export function describeValue(value: unknown, secret = false): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (isPluginRef(value)) return `a ${String(value._plugin)} plugin reference`;
  if (typeof value === 'object') return 'a mapping';
  if (secret) return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : `a ${typeof value}`;
}

// A plugin reference's own keys are not secret, even under a secret key; its `default` is.
const PLUGIN_META_KEYS = new Set(['_plugin', 'var', 'optional', 'json', 'message']);

/** True when a path ends at (or inside) the value of a secret key. */
export function isSecretPath(path: DataPath): boolean {
  const last = path[path.length - 1];
  if (typeof last === 'string' && PLUGIN_META_KEYS.has(last)) return false;
  return path.some((s) => typeof s === 'string' && SECRET_KEYS.has(s));
}

type Path = (string | number)[];
type Where = 'value' | 'key' | 'parent';
interface Flat {
  path: Path;
  message: string;
  where: Where;
  firstAt?: Path;
}

/** Problems for the issues of one failed parse of `data` (the file read by `source`). */
export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  data: unknown,
  source: YamlSource,
): InventoryProblem[] {
  const flats: Flat[] = [];
  for (const issue of issues) flatten(issue, [], data, flats);
  const seen = new Set<string>();
  const problems: InventoryProblem[] = [];
  for (const f of flats) {
    const id = `${formatPath(f.path)}\u0000${f.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const at = f.where === 'parent' ? f.path.slice(0, -1) : f.path;
    let message = f.message;
    if (f.firstAt) message += ` (first at line ${source.position(f.firstAt).line})`;
    const pos: SourcePosition = source.position(at, { key: f.where === 'key' });
    problems.push({ ...pos, path: formatPath(f.path), message });
  }
  return problems;
}

function flatten(issue: z.core.$ZodIssue, base: Path, data: unknown, out: Flat[]): void {
  const path: Path = [...base, ...issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s))];

  // A plugin reference where pef cannot resolve one explains itself better than its shape errors.
  const pluginAt = firstPluginOnPath(data, path);
  if (pluginAt && !pluginAllowedAt(pluginAt)) {
    out.push({ path: pluginAt, message: pluginPlacementMessage(pluginAt), where: 'value' });
    return;
  }

  const value = valueAt(data, path);
  const key = path[path.length - 1];
  const parent = valueAt(data, path.slice(0, -1));
  if (
    value === undefined &&
    key !== undefined &&
    typeof parent === 'object' &&
    parent !== null &&
    !(String(key) in parent)
  ) {
    if (issue.code === 'invalid_type' || issue.code === 'invalid_union') {
      out.push({ path, message: `missing required key "${String(key)}" (${issue.message})`, where: 'parent' });
      return;
    }
  }
  switch (issue.code) {
    case 'invalid_union': {
      if (isPluginRef(value)) {
        // The author meant a plugin: report against the plugin schema alone, not every branch.
        const result = PluginRefSchema.safeParse(value, { error: expectationFor });
        for (const inner of result.error?.issues ?? []) flatten(inner, path, data, out);
        if (!result.success) return;
      }
      const branch = issue.errors.find((errs) =>
        errs.every(
          (e) =>
            !(e.path.length === 0 && e.code === 'invalid_type') &&
            !('discriminator' in e && e.discriminator !== undefined),
        ),
      );
      if (branch && branch.length > 0) {
        for (const inner of branch) flatten(inner, path, data, out);
        return;
      }
      out.push({
        path,
        message: `${issue.message}, found ${describeValue(value, isSecretPath(path))}`,
        where: 'value',
      });
      return;
    }
    case 'unrecognized_keys':
      for (const key of issue.keys)
        out.push({ path: [...path, key], message: unknownKeyMessage(key, path, data), where: 'key' });
      return;
    case 'custom': {
      const firstAt = (issue.params as { firstAt?: Path } | undefined)?.firstAt;
      out.push({ path, message: issue.message, where: 'value', ...(firstAt === undefined ? {} : { firstAt }) });
      return;
    }
    case 'invalid_type': {
      if (path.length === 0) {
        out.push({
          path,
          message: `the inventory must be a mapping (keys: version, config, vars, facts, features, groups, targets), found ${describeValue(value)}`,
          where: 'value',
        });
        return;
      }
      break;
    }
    default:
      break;
  }
  out.push({ path, message: `${issue.message}, found ${describeValue(value, isSecretPath(path))}`, where: 'value' });
}

function valueAt(data: unknown, path: DataPath): unknown {
  let v = data;
  for (const s of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

function firstPluginOnPath(data: unknown, path: Path): Path | undefined {
  for (let i = 0; i <= path.length; i++) {
    const prefix = path.slice(0, i);
    if (isPluginRef(valueAt(data, prefix))) return prefix;
  }
  return undefined;
}

// The data key of a path is the first segment after the groups[i]/targets[i] steps.
function dataKeyIndex(path: DataPath): number {
  let i = 0;
  while ((path[i] === 'groups' || path[i] === 'targets') && typeof path[i + 1] === 'number') i += 2;
  return i;
}

// Plugins resolve single values: a config leaf, or any value inside vars and facts.
function pluginAllowedAt(path: DataPath): boolean {
  const k = dataKeyIndex(path);
  const rest = path.slice(k);
  if (rest[0] === 'vars' || rest[0] === 'facts') return rest.length >= 2;
  if (rest[0] !== 'config') return false;
  if (rest[1] === 'transport') return rest.length === 2;
  if (rest[1] === 'ssh')
    return rest.length === 3 || (rest.length === 4 && rest[2] === 'private-key' && rest[3] === 'key-data');
  return false;
}

function pluginPlacementMessage(path: DataPath): string {
  const rest = path.slice(dataKeyIndex(path));
  if (rest.length === 0 || rest[0] === 'name' || rest[0] === 'uri' || rest[0] === 'alias') {
    return 'pef resolves plugins only for values under config, vars and facts; plugins that list targets or groups (puppetdb, terraform, task, …) are not supported, so list them in the file';
  }
  return 'pef resolves plugins only for single values (a config.ssh key, config.transport, or a value inside vars or facts); spell out the keys here and use a plugin for each value';
}

function unknownKeyMessage(key: string, path: Path, data: unknown): string {
  if (key === 'nodes')
    return 'unknown key "nodes": this looks like a Bolt v1 inventory; v2 calls them "targets" (`bolt project migrate` converts the file)';
  const allowed = allowedKeys(path, data);
  const near = nearNames(key, allowed, 1);
  const hint =
    near.length > 0
      ? `; did you mean "${near[0]}"?`
      : allowed.length > 0
        ? `; expected one of ${allowed.join(', ')}`
        : '';
  return `unknown key "${key}"${hint}`;
}

const keysOf = (schema: { shape: object }): string[] => Object.keys(schema.shape);

function allowedKeys(path: Path, data: unknown): string[] {
  const value = valueAt(data, path);
  if (isPluginRef(value)) {
    if (value._plugin === 'env_var') return ['_plugin', 'var', 'default', 'optional', 'json'];
    if (value._plugin === 'prompt') return ['_plugin', 'message'];
    return ['_plugin'];
  }
  const k = dataKeyIndex(path);
  const rest = path.slice(k);
  if (rest.length === 0) {
    if (k === 0) return keysOf(InventoryFileSchema);
    return path[k - 2] === 'groups' ? keysOf(GroupSchema) : keysOf(TargetObjectSchema);
  }
  if (rest[0] === 'config' && rest.length === 1) return keysOf(ConfigSchema);
  if (rest[0] === 'config' && rest[1] === 'ssh' && rest.length === 2) return keysOf(SshConfigSchema);
  if (rest[0] === 'config' && rest[1] === 'ssh' && rest[2] === 'private-key') return ['key-data'];
  return [];
}
