/**
 * Name resolution as Bolt does it: comma lists; exact group, target, alias; `all`; globs
 * (case-insensitive) over groups, targets and aliases; ad-hoc hosts only when allowed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Inventory } from '../../../src/inventory/inventory.js';
import { TempDir, loadText, rejection } from './inventory-kit.js';

const INVENTORY = `config:
  ssh:
    user: admin
    port: 2200
vars: {site: ams}
groups:
  - name: infra
    targets:
      - name: primary.example.com
        alias: [primary, pm]
        vars: {role: primary}
      - name: replica.example.com
        alias: replica
        vars: {role: replica}
  - name: agents
    vars: {role: agent}
    groups:
      - name: web
        targets: [web1.example.com, web2.example.com]
      - name: db
        targets: [db1.example.com]
  - name: compilers
    targets:
      - name: compiler1.example.com
        vars: {role: compiler}
`;

let dir: TempDir;
let inv: Inventory;
beforeAll(async () => {
  dir = await TempDir.create();
  inv = await loadText(dir, INVENTORY);
});
afterAll(async () => {
  await dir.cleanup();
});

const names = async (spec: string | string[], options = {}): Promise<string[]> =>
  (await inv.resolve(spec, options)).map((t) => t.name);

describe('exact names', () => {
  it('a target name', async () => {
    expect(await names('replica.example.com')).toEqual(['replica.example.com']);
  });

  it('an alias', async () => {
    expect(await names('pm')).toEqual(['primary.example.com']);
    expect(await names('replica')).toEqual(['replica.example.com']);
  });

  it('a group, with its subgroups', async () => {
    expect(await names('agents')).toEqual(['web1.example.com', 'web2.example.com', 'db1.example.com']);
    expect(await names('db')).toEqual(['db1.example.com']);
  });

  it('all, in file order', async () => {
    expect(await names('all')).toEqual(inv.allTargetNames());
    expect(inv.allTargetNames()).toEqual([
      'primary.example.com',
      'replica.example.com',
      'web1.example.com',
      'web2.example.com',
      'db1.example.com',
      'compiler1.example.com',
    ]);
  });

  it('comma- and space-separated lists and arrays, without duplicates, in the order named', async () => {
    expect(await names('replica,primary, pm  primary.example.com')).toEqual([
      'replica.example.com',
      'primary.example.com',
    ]);
    expect(await names(['db', 'web,infra'])).toEqual([
      'db1.example.com',
      'web1.example.com',
      'web2.example.com',
      'primary.example.com',
      'replica.example.com',
    ]);
  });

  it('returns the same Target object each time a target is resolved', async () => {
    const [a] = await inv.resolve('primary');
    const [b] = await inv.resolve('primary.example.com');
    expect(a).toBe(b);
  });
});

describe('globs', () => {
  it('* over target names', async () => {
    expect(await names('web*')).toEqual(['web1.example.com', 'web2.example.com']);
  });

  it('? and [...] ', async () => {
    expect(await names('web?.example.com')).toEqual(['web1.example.com', 'web2.example.com']);
    expect(await names('web[2-9].example.com')).toEqual(['web2.example.com']);
    expect(await names('web[!2].example.com')).toEqual(['web1.example.com']);
  });

  it('over group names (expanding them) and aliases', async () => {
    expect(await names('comp*')).toEqual(['compiler1.example.com']);
    expect(await names('infr?')).toEqual(['primary.example.com', 'replica.example.com']);
    expect(await names('p?')).toEqual(['primary.example.com']);
  });

  it('case-insensitively, for globs and plain names alike', async () => {
    expect(await names('WEB1*')).toEqual(['web1.example.com']);
    expect(await names('Replica.Example.COM')).toEqual(['replica.example.com']);
  });

  it('a glob that matches nothing is an error naming near names', async () => {
    const error = await rejection(inv.resolve('replca*'));
    expect(error.kind).toBe('pef/unknown-target');
    expect(error.message).toContain('no group, target or alias in');
    expect(error.message).toContain('matches "replca*"; did you mean "replica"');
    expect(error.message).toContain('known groups: all, infra, agents, web, db, compilers');
  });
});

describe('unknown names and ad-hoc targets', () => {
  it('an unknown name fails with pef/unknown-target, naming near names and what is known', async () => {
    const error = await rejection(inv.resolve('primary,replca'));
    expect(error.kind).toBe('pef/unknown-target');
    expect(error.message).toContain('unknown target "replca": not a group, target or alias in');
    expect(error.message).toContain('did you mean "replica"');
    expect(error.message).toContain('known targets: primary.example.com, replica.example.com');
    expect(error.details).toMatchObject({ names: ['replca'] });
  });

  it('a host-like name becomes an ad-hoc target with the all group\u2019s data, when allowed', async () => {
    const [t] = await inv.resolve('deploy@new.example.com:2022', { allowAdHoc: true });
    expect(t).toMatchObject({
      name: 'deploy@new.example.com:2022',
      groups: [],
      vars: { site: 'ams' },
      config: { transport: 'ssh', ssh: { host: 'new.example.com', user: 'deploy', port: 2022 } },
    });
    expect((await inv.resolve('other.example.com', { allowAdHoc: true }))[0]?.config.ssh).toMatchObject({
      user: 'admin',
      port: 2200,
    });
    expect(inv.allTargetNames()).not.toContain('other.example.com');
  });

  it('an IPv6 ad-hoc target is not mistaken for a glob', async () => {
    expect((await inv.resolve('[::1]:2222', { allowAdHoc: true }))[0]?.config.ssh).toMatchObject({
      host: '::1',
      port: 2222,
    });
  });

  it('an ad-hoc localhost uses the local transport', async () => {
    expect((await inv.resolve('localhost', { allowAdHoc: true }))[0]?.config.transport).toBe('local');
  });

  it('ad-hoc is refused for globs and for names that are not hosts', async () => {
    expect((await rejection(inv.resolve('new*', { allowAdHoc: true }))).kind).toBe('pef/unknown-target');
    expect((await rejection(inv.resolve('bad|host', { allowAdHoc: true }))).kind).toBe('pef/unknown-target');
  });

  it('an empty spec is an error', async () => {
    expect((await rejection(inv.resolve(' , '))).kind).toBe('pef/unknown-target');
  });
});

describe('roles and groups', () => {
  it('targetsWithRole uses vars.role, inherited from groups', async () => {
    expect((await inv.targetsWithRole('primary')).map((t) => t.name)).toEqual(['primary.example.com']);
    expect((await inv.targetsWithRole('agent')).map((t) => t.name)).toEqual([
      'web1.example.com',
      'web2.example.com',
      'db1.example.com',
    ]);
    expect((await inv.targetsWithRole('compiler')).map((t) => t.name)).toEqual(['compiler1.example.com']);
  });

  it('groups lists every group with all its targets and direct subgroups', () => {
    expect(inv.groups.find((g) => g.name === 'agents')).toEqual({
      name: 'agents',
      targets: ['web1.example.com', 'web2.example.com', 'db1.example.com'],
      groups: ['web', 'db'],
    });
  });
});
