/**
 * Builds the group tree of a validated inventory and merges each target's data the way Bolt
 * does (lib/bolt/inventory/group.rb, target.rb):
 * - group data: a child group overrides its parent; among sibling groups the earlier wins;
 * - target-level data (a target mapping, in any group) beats all group data, with the same
 *   child-over-parent and earlier-sibling-wins rules among its definitions;
 * - config and facts merge deeply, vars key by key (a var holding a mapping is replaced whole),
 *   features and aliases are unions.
 * Plugin references stay unresolved here (and are never merged into); their file positions are
 * remembered for messages when a target is resolved.
 */
import {
  BOLT_IGNORED_SSH_KEYS,
  BOLT_IGNORED_TRANSPORTS,
  isPluginRef,
  type GroupData,
  type InventoryFile,
  type TargetObjectData,
} from './inventory-schema.js';
import { problemAt, type InventoryProblem } from './inventory-problems.js';
import type { DataPath, YamlSource } from './yaml-source.js';

type Rec = Record<string, unknown>;
type Path = (string | number)[];

/** config, vars, facts and features of a group or a target definition. */
export interface DataBlock {
  config: Rec;
  vars: Rec;
  facts: Rec;
  features: string[];
}

/** A target's merged, still unresolved data, plus where it is first defined. */
export interface MergedTarget extends DataBlock {
  name: string;
  uri?: string;
  aliases: string[];
  /** Groups holding it (directly or through subgroups), outermost first, `all` left out. */
  groups: string[];
  path: DataPath;
}

/** A group as callers see it: its name, every target in it (subgroups included) and its direct subgroups. */
export interface InventoryGroup {
  readonly name: string;
  readonly targets: readonly string[];
  readonly groups: readonly string[];
}

/** Everything the Inventory needs from the file. */
export interface InventoryTree {
  /** Every group, `all` first, then depth-first in file order. */
  groups: InventoryGroup[];
  /** Every target, in file order (depth-first). */
  targets: Map<string, MergedTarget>;
  aliases: Map<string, string>;
  /** The top-level data, which ad-hoc targets get (they join `all`, as in Bolt). */
  allData: DataBlock;
  /** Where each plugin reference is written. */
  pluginPaths: WeakMap<object, DataPath>;
  warnings: InventoryProblem[];
}

interface TargetDef {
  data: DataBlock;
  uri?: string;
  aliases: string[];
  path: Path;
}

interface GroupNode {
  name: string;
  data: DataBlock;
  own: Map<string, TargetDef>;
  children: GroupNode[];
}

const EMPTY: DataBlock = Object.freeze({ config: {}, vars: {}, facts: {}, features: [] });

/** Builds the tree and merged targets; see the file comment. */
// Long on purpose: Bolt's merge order depends on the walk's shared state (plugin positions, first
// definitions per target, the group path), which one closure keeps in one place.
export function buildInventoryTree(file: InventoryFile, source: YamlSource): InventoryTree {
  const warnings: InventoryProblem[] = [];
  const pluginPaths = new WeakMap<object, DataPath>();

  const block = (from: GroupData | InventoryFile | TargetObjectData, path: Path): DataBlock => {
    const data: DataBlock = {
      config: from.config ?? {},
      vars: from.vars ?? {},
      facts: from.facts ?? {},
      features: from.features ?? [],
    };
    for (const key of ['config', 'vars', 'facts'] as const) rememberPlugins(data[key], [...path, key], pluginPaths);
    ignoredKeyWarnings(from, path, source, warnings);
    return data;
  };

  // Names and aliases of targets written as mappings, anywhere: a string entry naming one of
  // them adds that target to its group rather than defining a new one (Bolt resolve_string_targets).
  const defined = new Set<string>();
  const aliases = new Map<string, string>();
  const collect = (g: GroupData | InventoryFile): void => {
    for (const entry of g.targets ?? []) {
      if (typeof entry === 'string') continue;
      const name = targetName(entry);
      defined.add(name);
      for (const a of aliasList(entry.alias)) if (!aliases.has(a)) aliases.set(a, name);
    }
    for (const child of g.groups ?? []) collect(child);
  };
  collect(file);

  const build = (g: GroupData | InventoryFile, name: string, path: Path): GroupNode => {
    const node: GroupNode = { name, data: block(g, path), own: new Map(), children: [] };
    (g.targets ?? []).forEach((entry, i) => {
      const entryPath: Path = [...path, 'targets', i];
      let tname: string;
      let def: TargetDef;
      if (typeof entry === 'string') {
        const canonical = defined.has(entry) ? entry : aliases.get(entry);
        tname = canonical ?? entry;
        def =
          canonical === undefined
            ? { data: EMPTY, uri: entry, aliases: [], path: entryPath }
            : { data: EMPTY, aliases: [], path: entryPath };
      } else {
        tname = targetName(entry);
        def = { data: block(entry, entryPath), aliases: aliasList(entry.alias), path: entryPath };
        if (entry.uri !== undefined) def.uri = entry.uri;
      }
      if (node.own.has(tname)) {
        const where = name === 'all' ? 'the top-level targets' : `group "${name}"`;
        warnings.push(
          problemAt(
            source,
            entryPath,
            `target "${tname}" is already listed in ${where}; this entry is ignored (as Bolt does)`,
          ),
        );
      } else node.own.set(tname, def);
    });
    node.children = (g.groups ?? []).map((child, i) => build(child, child.name, [...path, 'groups', i]));
    return node;
  };
  const root = build(file, 'all', []);

  const members = new Map<GroupNode, Set<string>>();
  const membersOf = (node: GroupNode): Set<string> => {
    let set = members.get(node);
    if (!set) {
      set = new Set(node.own.keys());
      for (const child of node.children) for (const name of membersOf(child)) set.add(name);
      members.set(node, set);
    }
    return set;
  };
  const nodes: GroupNode[] = [];
  const walk = (node: GroupNode): void => {
    nodes.push(node);
    node.children.forEach(walk);
  };
  walk(root);

  // Indexes built once: definitions and group names per target, in file (pre-)order.
  const defsOf = new Map<string, TargetDef[]>();
  const groupsOf = new Map<string, string[]>();
  for (const node of nodes) {
    for (const [name, def] of node.own) defsOf.set(name, [...(defsOf.get(name) ?? []), def]);
    if (node === root) continue;
    for (const name of membersOf(node)) {
      const list = groupsOf.get(name);
      if (list) list.push(node.name);
      else groupsOf.set(name, [node.name]);
    }
  }

  const targets = new Map<string, MergedTarget>();
  for (const name of membersOf(root)) {
    const groupData = groupCollect(root, name, membersOf) ?? EMPTY;
    const targetData = targetCollect(root, name, membersOf) ?? EMPTY;
    const defs = defsOf.get(name) ?? [];
    const withUri = defs.filter((d) => d.uri !== undefined);
    for (const d of withUri.slice(1)) {
      if (d.uri !== withUri[0]!.uri)
        warnings.push(
          problemAt(
            source,
            [...d.path, 'uri'],
            `target "${name}" already has uri "${withUri[0]!.uri}"; this uri is ignored`,
          ),
        );
    }
    const merged: MergedTarget = {
      name,
      aliases: [...new Set(defs.flatMap((d) => d.aliases))],
      groups: groupsOf.get(name) ?? [],
      config: deepMerge(groupData.config, targetData.config),
      vars: { ...groupData.vars, ...targetData.vars },
      facts: deepMerge(groupData.facts, targetData.facts),
      features: [...new Set([...groupData.features, ...targetData.features])],
      path: defs[0]!.path,
    };
    if (withUri[0]?.uri !== undefined) merged.uri = withUri[0].uri;
    targets.set(name, merged);
  }

  const groups = nodes.map((n) => ({
    name: n.name,
    targets: [...membersOf(n)],
    groups: n.children.map((c) => c.name),
  }));
  return { groups, targets, aliases, allData: root.data, pluginPaths, warnings };
}

function targetName(entry: TargetObjectData): string {
  // The schema guarantees one of the two.
  return entry.name ?? entry.uri ?? '';
}

function aliasList(alias: string | string[] | undefined): string[] {
  return alias === undefined ? [] : typeof alias === 'string' ? [alias] : alias;
}

// Merges where `b` wins, as Bolt's data_merge(a, b); undefined stands for "not in this subtree".
function mergeBlocks(a: DataBlock | undefined, b: DataBlock | undefined): DataBlock | undefined {
  if (!a || !b) return b ?? a;
  return {
    config: deepMerge(a.config, b.config),
    vars: { ...a.vars, ...b.vars },
    facts: deepMerge(a.facts, b.facts),
    features: [...new Set([...a.features, ...b.features])],
  };
}

// Earlier siblings win: fold so that what came first is merged last.
function foldSiblings(results: (DataBlock | undefined)[]): DataBlock | undefined {
  return results.reduce<DataBlock | undefined>((acc, next) => mergeBlocks(next, acc), undefined);
}

function groupCollect(
  node: GroupNode,
  target: string,
  membersOf: (n: GroupNode) => ReadonlySet<string>,
): DataBlock | undefined {
  if (!membersOf(node).has(target)) return undefined;
  const children = node.children.filter((c) => membersOf(c).has(target));
  return mergeBlocks(node.data, foldSiblings(children.map((c) => groupCollect(c, target, membersOf))));
}

function targetCollect(
  node: GroupNode,
  target: string,
  membersOf: (n: GroupNode) => ReadonlySet<string>,
): DataBlock | undefined {
  if (!membersOf(node).has(target)) return undefined;
  const children = node.children.filter((c) => membersOf(c).has(target));
  return mergeBlocks(
    node.own.get(target)?.data,
    foldSiblings(children.map((c) => targetCollect(c, target, membersOf))),
  );
}

const isMergeable = (v: unknown): v is Rec =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isPluginRef(v);

/** Deep merge of mappings where `b` wins; lists and plugin references are replaced whole. */
export function deepMerge(a: Rec, b: Rec): Rec {
  const out: Rec = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const previous = out[key];
    out[key] = isMergeable(previous) && isMergeable(value) ? deepMerge(previous, value) : value;
  }
  return out;
}

function rememberPlugins(value: unknown, path: Path, into: WeakMap<object, DataPath>): void {
  if (isPluginRef(value)) into.set(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => rememberPlugins(v, [...path, i], into));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) rememberPlugins(v, [...path, k], into);
}

function ignoredKeyWarnings(
  from: GroupData | InventoryFile | TargetObjectData,
  path: Path,
  source: YamlSource,
  warnings: InventoryProblem[],
): void {
  const config = (from.config ?? {}) as Rec;
  const ssh = (config['ssh'] ?? {}) as Rec;
  for (const key of BOLT_IGNORED_SSH_KEYS) {
    if (key in ssh)
      warnings.push(
        problemAt(source, [...path, 'config', 'ssh', key], `"${key}" is a Bolt ssh option pef does not use; ignored`, {
          key: true,
        }),
      );
  }
  for (const key of BOLT_IGNORED_TRANSPORTS) {
    if (key in config) {
      const why =
        key === 'local' ? "pef's local transport takes no settings" : `pef does not speak Bolt's ${key} transport`;
      warnings.push(problemAt(source, [...path, 'config', key], `${why}; config.${key} is ignored`, { key: true }));
    }
  }
  const transport = config['transport'];
  if (typeof transport === 'string' && transport !== 'ssh' && transport !== 'local') {
    warnings.push(
      problemAt(
        source,
        [...path, 'config', 'transport'],
        `pef does not speak Bolt's ${transport} transport; its targets load but cannot be used`,
      ),
    );
  }
  if (from.plugin_hooks !== undefined)
    warnings.push(
      problemAt(source, [...path, 'plugin_hooks'], 'pef does not run Bolt plugin hooks; ignored', { key: true }),
    );
}
