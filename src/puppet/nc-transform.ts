/**
 * The node classification's hostname transform (primary to replica) and the order-insensitive
 * comparison of two hierarchies (dump_nc: is the archive new; restore_nc: what would change).
 */
import type { NodeGroup } from './node-classification.js';

export interface HostnameReplacement {
  from: string;
  to: string;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The rule of the transform, for one string: every occurrence of `from` as a whole host name is
 * replaced by `to`, also inside longer strings (`"primary.lab:8140"`, `"https://primary.lab/x"`),
 * and in its regex-escaped form (`primary\.lab` in a `~` rule becomes `replica\.lab`). A whole
 * host name: not preceded by a letter, digit, `_`, `-` or `.` (so `db.primary.lab` is another
 * host) and not followed by a letter, digit, `_`, `-`, or a dot and a label (so
 * `primary.lab.example` is another host; a sentence's closing dot is fine). Matching ignores
 * case, as DNS does; the replacement is `to` as given. Returns the string and the count.
 */
export function replaceHostname(text: string, r: HostnameReplacement): { text: string; count: number } {
  const literal = escapeRegex(r.from);
  const escaped = escapeRegex(escapeRegex(r.from));
  const pattern = new RegExp(
    `(?<![A-Za-z0-9_.-])(?:${escaped === literal ? literal : `${escaped}|${literal}`})(?![A-Za-z0-9_-])(?!\\\\?\\.[A-Za-z0-9_-])`,
    'gi',
  );
  let count = 0;
  const out = text.replace(pattern, (match) => {
    count++;
    return match.includes('\\') ? escapeRegex(r.to) : r.to;
  });
  return { text: out, count };
}

// Values only: keys are class, parameter and variable names, never host names.
function transformValue(value: unknown, r: HostnameReplacement, counter: { count: number }): unknown {
  if (typeof value === 'string') {
    const out = replaceHostname(value, r);
    counter.count += out.count;
    return out.text;
  }
  if (Array.isArray(value)) return value.map((v) => transformValue(v, r, counter));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, transformValue(v, r, counter)]));
  }
  return value;
}

/** The fields the transform rewrites; ids, names, parents, environments and descriptions stay. */
export const TRANSFORMED_FIELDS = ['rule', 'classes', 'variables', 'config_data'] as const;

/** Applies `replaceHostname` to every string value in the rules, class parameters, variables and config data of every group. */
export function transformGroups(
  groups: readonly NodeGroup[],
  r: HostnameReplacement,
): { groups: NodeGroup[]; count: number } {
  const counter = { count: 0 };
  const out = groups.map((group) => {
    const copy: Record<string, unknown> = { ...group };
    for (const field of TRANSFORMED_FIELDS)
      if (copy[field] !== undefined) copy[field] = transformValue(copy[field], r, counter);
    return copy as NodeGroup;
  });
  return { groups: out, count: counter.count };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * A group as the comparison sees it: the fields that classify (bookkeeping such as
 * serial_number or last_edited left out), absent values as the API's defaults, keys sorted.
 * Array order counts (rules and parameter lists are ordered).
 */
export function canonicalGroup(group: NodeGroup): string {
  return JSON.stringify(
    sortKeys({
      id: group.id,
      name: group.name,
      parent: group.parent,
      environment: group.environment ?? 'production',
      environment_trumps: group.environment_trumps ?? false,
      rule: group.rule ?? null,
      classes: group.classes,
      variables: group.variables ?? {},
      config_data: group.config_data ?? {},
      description: group.description ?? '',
    }),
  );
}

/** How two hierarchies differ, by group name (matched by id; group order does not count). */
export interface HierarchyDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

/** What would change if `current` were replaced by `wanted`. */
export function diffHierarchies(current: readonly NodeGroup[], wanted: readonly NodeGroup[]): HierarchyDiff {
  const have = new Map(current.map((g) => [g.id, g]));
  const want = new Map(wanted.map((g) => [g.id, g]));
  return {
    added: wanted.filter((g) => !have.has(g.id)).map((g) => g.name),
    removed: current.filter((g) => !want.has(g.id)).map((g) => g.name),
    changed: wanted
      .filter((g) => have.has(g.id) && canonicalGroup(have.get(g.id)!) !== canonicalGroup(g))
      .map((g) => g.name),
  };
}

/** True when the diff is empty: both hierarchies classify the same. */
export function sameHierarchy(diff: HierarchyDiff): boolean {
  return diff.added.length + diff.removed.length + diff.changed.length === 0;
}

/** One line for messages: `added A; changed B, C`. */
export function describeDiff(diff: HierarchyDiff): string {
  const parts = (['added', 'removed', 'changed'] as const)
    .filter((k) => diff[k].length > 0)
    .map((k) => `${k} ${diff[k].join(', ')}`);
  return parts.join('; ') || 'no difference';
}

/** The archive text: the groups as pretty JSON with a final newline. */
