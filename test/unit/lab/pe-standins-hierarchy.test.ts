import { describe, it, expect } from '@jest/globals';
import { defaultHierarchy, ALL_NODES_ID } from '../../../src/lab/pe-standins/default-hierarchy.js';
import { inheritedGroups, validateHierarchy } from '../../../src/lab/pe-standins/node-group-hierarchy.js';

describe('node group hierarchy', () => {
  it("accepts the seed hierarchy, rooted at PE's All Nodes id and naming the primary", () => {
    const seed = defaultHierarchy('primary.lab');
    expect(validateHierarchy(seed)).toEqual({ ok: true, groups: seed });
    expect(seed.filter((g) => g.parent === g.id).map((g) => g.id)).toEqual([ALL_NODES_ID]);
    expect(JSON.stringify(seed.find((g) => g.name === 'PE Master'))).toContain('primary.lab');
  });

  it('rejects duplicate names', () => {
    const seed = defaultHierarchy('p.lab');
    const dup = [...seed, { ...seed[1]!, id: 'other' }];
    const check = validateHierarchy(dup);
    expect(check.ok ? undefined : check.error.kind).toBe('puppetlabs.classifier/uniqueness-violation');
  });

  it('lets a child override an inherited class parameter', () => {
    const [root, infra, master] = defaultHierarchy('p.lab');
    const child = { ...master!, classes: { puppet_enterprise: { console_host: 'c.lab' } } };
    const merged = inheritedGroups([root!, infra!, child]);
    expect(merged[2]?.classes['puppet_enterprise']).toMatchObject({
      console_host: 'c.lab',
      puppet_master_host: 'p.lab',
    });
    expect(merged[1]).toEqual(infra);
  });
});
