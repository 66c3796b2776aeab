/**
 * Node groups as PE's classifier API shapes them (`GET /classifier-api/v1/groups`), and the checks
 * `POST /v1/import-hierarchy` makes before replacing the hierarchy: well-formed groups, unique ids
 * and names, exactly one root ("All Nodes", whose parent is itself), every parent present, every
 * group reachable from the root. Lab stand-in code: see docs/lab.md "PE stand-ins".
 */
import { z } from 'zod';

const jsonObject = z.record(z.string(), z.unknown());

// import-hierarchy supplies no defaults (PE docs), so every key is required.
const nodeGroupSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  parent: z.string().min(1),
  environment: z.string().min(1),
  environment_trumps: z.boolean(),
  rule: z.array(z.unknown()).nullable(),
  classes: z.record(z.string(), jsonObject),
  variables: jsonObject,
  description: z.string(),
  config_data: z.record(z.string(), jsonObject),
});

/** One node group. */
export type NodeGroup = z.infer<typeof nodeGroupSchema>;

/** The classifier's JSON error body: `{kind, msg, details}`. */
export interface ClassifierError {
  kind: string;
  msg: string;
  details: Record<string, unknown>;
}

/** The outcome of checking a posted hierarchy. */
export type HierarchyCheck = { ok: true; groups: NodeGroup[] } | { ok: false; error: ClassifierError };

const fail = (kind: string, msg: string, details: Record<string, unknown>): HierarchyCheck => ({
  ok: false,
  error: { kind: `puppetlabs.classifier/${kind}`, msg, details },
});

/** Checks a parsed import-hierarchy body; see the file comment for the rules. */
export function validateHierarchy(body: unknown): HierarchyCheck {
  if (!Array.isArray(body)) {
    return fail('schema-violation', 'The request body must be a JSON array of node groups.', {
      submitted: typeof body,
    });
  }
  const groups: NodeGroup[] = [];
  const malformed: { index: number; submitted: unknown; errors: string[] }[] = [];
  body.forEach((item, index) => {
    const parsed = nodeGroupSchema.strip().safeParse(item);
    if (parsed.success) groups.push(parsed.data);
    else
      malformed.push({
        index,
        submitted: item,
        errors: parsed.error.issues.map((i) => `${i.path.join('.') || '(group)'}: ${i.message}`),
      });
  });
  if (malformed.length > 0) {
    const first = malformed[0]!;
    return fail(
      'schema-violation',
      `${malformed.length} of ${body.length} node groups are malformed; first, at index ${first.index}: ${first.errors.join('; ')}`,
      { submitted: malformed.map((m) => m.submitted), error: malformed },
    );
  }
  for (const key of ['id', 'name'] as const) {
    const seen = new Set<string>();
    const duplicates = groups.map((g) => g[key]).filter((v) => (seen.has(v) ? true : (seen.add(v), false)));
    if (duplicates.length > 0) {
      return fail(
        'uniqueness-violation',
        `Node group ${key}s must be unique; duplicated: ${[...new Set(duplicates)].join(', ')}.`,
        { [key]: duplicates },
      );
    }
  }
  const roots = groups.filter((g) => g.parent === g.id);
  if (roots.length !== 1) {
    return fail(
      'unreachable-groups',
      `A hierarchy needs exactly one root group (the "All Nodes" group, whose parent is its own id); found ${roots.length}${roots.length > 0 ? `: ${roots.map((g) => g.name).join(', ')}` : ''}.`,
      { roots: roots.map((g) => g.id) },
    );
  }
  const byId = new Map(groups.map((g) => [g.id, g]));
  const orphans = groups.filter((g) => !byId.has(g.parent));
  if (orphans.length > 0) {
    return fail(
      'missing-parents',
      `Parent groups do not exist for: ${orphans.map((g) => `${g.name} (parent ${g.parent})`).join(', ')}.`,
      { groups: orphans.map((g) => ({ id: g.id, name: g.name, parent: g.parent })) },
    );
  }
  const root = roots[0]!;
  // Parents all exist and there is one root, so a group that never climbs to the root sits in a cycle.
  const cyclic = groups.filter((g) => {
    let current = g;
    for (let steps = 0; steps <= groups.length; steps++) {
      if (current.id === root.id) return false;
      current = byId.get(current.parent)!;
    }
    return true;
  });
  if (cyclic.length > 0) {
    return fail(
      'inheritance-cycle',
      `These node groups are in an inheritance cycle and not reachable from ${root.name}: ${cyclic.map((g) => g.name).join(', ')}.`,
      { groups: cyclic.map((g) => g.id) },
    );
  }
  return { ok: true, groups };
}

/** The groups as `?inherited=true` returns them: classes, parameters, variables and config data merged down from every ancestor. */
export function inheritedGroups(groups: readonly NodeGroup[]): NodeGroup[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  return groups.map((group) => {
    const chain: NodeGroup[] = [];
    for (
      let g: NodeGroup | undefined = group;
      g !== undefined && !chain.includes(g);
      g = g.parent === g.id ? undefined : byId.get(g.parent)
    )
      chain.unshift(g);
    const classes: NodeGroup['classes'] = {};
    const configData: NodeGroup['config_data'] = {};
    let variables: NodeGroup['variables'] = {};
    for (const g of chain) {
      for (const [name, params] of Object.entries(g.classes)) classes[name] = { ...classes[name], ...params };
      for (const [name, data] of Object.entries(g.config_data)) configData[name] = { ...configData[name], ...data };
      variables = { ...variables, ...g.variables };
    }
    return { ...group, classes, variables, config_data: configData };
  });
}
