/**
 * The rules that span the whole file, as Bolt's Group#validate applies them: group names are
 * unique; group names, target names and aliases never collide; an alias names one target; a
 * string entry that is not the name or alias of a target defined elsewhere must be a valid uri.
 * It reads the file tolerantly (skipping malformed parts the schema reports anyway), so these
 * problems are listed together with the shape problems.
 */
import { parseTargetUri } from './target-uri.js';

/** One cross-file problem: where, what, and where the name was first used. */
export interface NameIssue {
  path: (string | number)[];
  message: string;
  firstAt?: (string | number)[];
}

type Path = (string | number)[];

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Checks the name rules of a (possibly malformed) inventory; see the file comment. */
// One tolerant walk over the raw file: the maps of names seen so far (for collisions and 'first
// used at') are shared by every rule, so the rules stay in one function rather than threading them.
export function checkInventoryNames(root: unknown): NameIssue[] {
  const issues: NameIssue[] = [];
  if (!isMap(root)) return issues;

  const groups = new Map<string, Path>([['all', []]]);
  const objectTargets = new Map<string, Path>();
  const aliases = new Map<string, { target: string; path: Path }>();
  const stringEntries: { value: string; path: Path }[] = [];

  const visit = (group: Record<string, unknown>, path: Path): void => {
    if (path.length > 0 && isString(group['name'])) {
      const name = group['name'];
      const first = groups.get(name);
      if (name === 'all')
        issues.push({
          path: [...path, 'name'],
          message: '"all" is the implicit top-level group; give this group another name',
        });
      else if (first)
        issues.push({
          path: [...path, 'name'],
          message: `group "${name}" is defined twice; group names must be unique`,
          firstAt: [...first, 'name'],
        });
      else groups.set(name, path);
    }
    const targets = group['targets'];
    if (Array.isArray(targets)) {
      targets.forEach((entry, i) => {
        const entryPath = [...path, 'targets', i];
        if (isString(entry)) stringEntries.push({ value: entry, path: entryPath });
        else if (isMap(entry)) visitTarget(entry, entryPath);
      });
    }
    const subgroups = group['groups'];
    if (Array.isArray(subgroups)) subgroups.forEach((g, i) => isMap(g) && visit(g, [...path, 'groups', i]));
  };

  const visitTarget = (target: Record<string, unknown>, path: Path): void => {
    const name = isString(target['name']) ? target['name'] : isString(target['uri']) ? target['uri'] : undefined;
    if (name === undefined) return;
    if (isString(target['uri'])) {
      const parsed = parseTargetUri(target['uri']);
      if (!parsed.ok) issues.push({ path: [...path, 'uri'], message: `invalid uri: ${parsed.problem}` });
    }
    if (!objectTargets.has(name)) objectTargets.set(name, [...path, isString(target['name']) ? 'name' : 'uri']);
    const alias = target['alias'];
    const list: { value: unknown; path: Path }[] = Array.isArray(alias)
      ? (alias as unknown[]).map((value, j) => ({ value, path: [...path, 'alias', j] }))
      : [{ value: alias, path: [...path, 'alias'] }];
    for (const { value, path: aliasPath } of list) {
      if (!isString(value)) continue;
      const first = aliases.get(value);
      if (first && first.target !== name) {
        issues.push({
          path: aliasPath,
          message: `alias "${value}" already names target "${first.target}"; an alias must name one target`,
          firstAt: first.path,
        });
      } else if (!first) aliases.set(value, { target: name, path: aliasPath });
    }
  };

  visit(root, []);

  // A string entry is a reference when it names a target or alias defined as a mapping anywhere;
  // otherwise it defines a target whose name is the string (Bolt resolve_string_targets).
  const stringTargets = new Map<string, Path>();
  for (const { value, path } of stringEntries) {
    if (objectTargets.has(value) || aliases.has(value)) continue;
    const parsed = parseTargetUri(value);
    if (!parsed.ok) issues.push({ path, message: `invalid target "${value}": ${parsed.problem}` });
    else if (!stringTargets.has(value)) stringTargets.set(value, path);
  }

  const RESERVED = '"all" is the implicit group of every target';
  for (const [name, path] of [...objectTargets, ...stringTargets]) {
    const group = groups.get(name);
    if (name === 'all') issues.push({ path, message: `${RESERVED}; a target cannot be called "all"` });
    else if (group)
      issues.push({
        path,
        message: `target "${name}" has the same name as a group; names of groups, targets and aliases must be distinct`,
        firstAt: group.length > 0 ? [...group, 'name'] : [],
      });
  }
  for (const [alias, { target, path }] of aliases) {
    const group = groups.get(alias);
    const targetPath = objectTargets.get(alias) ?? stringTargets.get(alias);
    if (alias === 'all') issues.push({ path, message: `${RESERVED}; an alias cannot be "all"` });
    else if (group)
      issues.push({
        path,
        message: `alias "${alias}" of target "${target}" is also a group name; names of groups, targets and aliases must be distinct`,
        firstAt: group.length > 0 ? [...group, 'name'] : [],
      });
    else if (targetPath)
      issues.push({
        path,
        message: `alias "${alias}" of target "${target}" is also a target name; names of groups, targets and aliases must be distinct`,
        firstAt: targetPath,
      });
  }
  return issues;
}
