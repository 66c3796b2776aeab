/**
 * Valid Bolt v2 inventories: every shape Bolt documents loads unchanged, data merges as Bolt
 * merges it, defaults match Bolt's, secrets stay secret.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../../../src/inventory/load-inventory.js';
import type { Target } from '../../../src/inventory/target.js';
import { NonInteractivePrompter } from '../../../src/interaction/prompter.js';
import { Sensitive } from '../../../src/util/sensitive.js';
import { FIXTURES, TempDir, loadText, problemsOf, rejection } from './inventory-kit.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await TempDir.create();
});
afterAll(async () => {
  await dir.cleanup();
});

const byName = (targets: Target[], name: string): Target => {
  const t = targets.find((x) => x.name === name);
  if (!t) throw new Error(`no target ${name} in ${targets.map((x) => x.name).join(', ')}`);
  return t;
};

const loadFixture = (name: string) =>
  loadInventory(join(FIXTURES, name), { env: { HOME: '/home/op' }, prompter: new NonInteractivePrompter() });

describe('target shapes', () => {
  it('string targets get Bolt defaults: ssh, port 22, the current user, host keys checked, 10 s', async () => {
    const inv = await loadText(dir, 'targets:\n  - a.example.com\n  - 10.0.0.7\n');
    const [a, b] = await inv.resolve('all');
    expect(a).toMatchObject({
      name: 'a.example.com',
      uri: 'a.example.com',
      aliases: [],
      groups: [],
      config: {
        transport: 'ssh',
        ssh: {
          host: 'a.example.com',
          port: 22,
          user: userInfo().username,
          hostKeyCheck: true,
          connectTimeout: 10,
          knownHosts: '/home/op/.ssh/known_hosts',
        },
      },
    });
    expect(b?.config.ssh.host).toBe('10.0.0.7');
    expect(a?.config.ssh.privateKey).toBeUndefined();
    expect(a?.config.ssh.runAs).toBeUndefined();
  });

  it('a uri carries user and port, and they beat config', async () => {
    const inv = await loadText(
      dir,
      'config:\n  ssh:\n    user: admin\n    port: 2200\ntargets:\n  - ssh://deploy@a.example.com:2222\n  - root@b.example.com\n  - c.example.com:2022\n  - "[::1]:2223"\n',
    );
    const targets = await inv.resolve('all');
    expect(targets.map((t) => [t.name, t.config.ssh.user, t.config.ssh.host, t.config.ssh.port])).toEqual([
      ['ssh://deploy@a.example.com:2222', 'deploy', 'a.example.com', 2222],
      ['root@b.example.com', 'root', 'b.example.com', 2200],
      ['c.example.com:2022', 'admin', 'c.example.com', 2022],
      ['[::1]:2223', 'admin', '::1', 2223],
    ]);
  });

  it('a mapping with name and uri is named by name and reached by uri', async () => {
    const inv = await loadText(dir, 'targets:\n  - name: primary\n    uri: 10.1.2.3\n');
    const [t] = await inv.resolve('primary');
    expect(t).toMatchObject({ name: 'primary', uri: '10.1.2.3', config: { ssh: { host: '10.1.2.3' } } });
  });

  it('without a uri the host is config.ssh.host, else the name', async () => {
    const inv = await loadText(
      dir,
      'targets:\n  - name: target1\n    config:\n      ssh:\n        host: target1.example.com\n  - name: target2.example.com\n',
    );
    const targets = await inv.resolve('all');
    expect(byName(targets, 'target1').config.ssh.host).toBe('target1.example.com');
    expect(byName(targets, 'target1').uri).toBeUndefined();
    expect(byName(targets, 'target2.example.com').config.ssh.host).toBe('target2.example.com');
  });

  it('a mapping with only a uri is named by its uri', async () => {
    const inv = await loadText(dir, 'targets:\n  - uri: ssh://ops@db.example.com\n    vars: {role: replica}\n');
    expect(inv.allTargetNames()).toEqual(['ssh://ops@db.example.com']);
  });

  it('aliases may be a string or a list', async () => {
    const inv = await loadText(
      dir,
      'targets:\n  - name: a.example.com\n    alias: web\n  - name: b.example.com\n    alias: [db, database]\n',
    );
    const targets = await inv.resolve('all');
    expect(byName(targets, 'a.example.com').aliases).toEqual(['web']);
    expect(byName(targets, 'b.example.com').aliases).toEqual(['db', 'database']);
  });

  it('a target named localhost defaults to the local transport, unless config says otherwise', async () => {
    const inv = await loadText(
      dir,
      'targets:\n  - localhost\ngroups:\n  - name: remote\n    config: {transport: ssh}\n    targets:\n      - name: other\n        uri: localhost\n',
    );
    expect((await inv.resolve('localhost'))[0]?.config.transport).toBe('local');
    expect((await inv.resolve('other'))[0]?.config.transport).toBe('ssh');
  });

  it('local:// and config.transport: local select the local transport', async () => {
    const inv = await loadText(
      dir,
      'targets:\n  - local://controller\n  - name: here\n    config: {transport: local}\n',
    );
    const targets = await inv.resolve('all');
    expect(targets.map((t) => t.config.transport)).toEqual(['local', 'local']);
  });

  it('an empty targets: or groups: is an empty list, as in Bolt', async () => {
    const inv = await loadText(
      dir,
      'groups:\n  - name: later\n    targets:\n    groups:\n  - name: web\n    targets: [a]\n',
    );
    expect(inv.groups.map((g) => [g.name, g.targets])).toEqual([
      ['all', ['a']],
      ['later', []],
      ['web', ['a']],
    ]);
  });

  it('features are kept and merged', async () => {
    const inv = await loadText(dir, 'features: [puppet-agent]\ntargets:\n  - name: a\n    features: [pe]\n');
    const [a] = await inv.resolve('a');
    expect(a?.features).toEqual(['puppet-agent', 'pe']);
  });
});

describe('groups and merging', () => {
  const NESTED = `config:
  ssh:
    user: outer
    port: 2201
    connect-timeout: 30
vars: {site: ams, tier: all}
groups:
  - name: dc
    config:
      ssh:
        port: 2202
    vars: {tier: dc}
    groups:
      - name: web
        config:
          ssh:
            user: inner
        vars: {tier: web}
        targets:
          - name: w1
            config:
              ssh:
                connect-timeout: 5
            vars: {own: yes}
          - w2
`;

  it('nested groups: target over inner group over outer group over all, merged key by key', async () => {
    const inv = await loadText(dir, NESTED);
    const targets = await inv.resolve('all');
    const w1 = byName(targets, 'w1');
    expect(w1.groups).toEqual(['dc', 'web']);
    expect(w1.config.ssh).toMatchObject({ user: 'inner', port: 2202, connectTimeout: 5 });
    // YAML 1.1 as Bolt reads it: `yes` is true.
    expect(w1.vars).toEqual({ site: 'ams', tier: 'web', own: true });
    expect(byName(targets, 'w2').config.ssh).toMatchObject({ user: 'inner', port: 2202, connectTimeout: 30 });
    expect(inv.groups.map((g) => [g.name, g.targets, g.groups])).toEqual([
      ['all', ['w1', 'w2'], ['dc']],
      ['dc', ['w1', 'w2'], ['web']],
      ['web', ['w1', 'w2'], []],
    ]);
  });

  it('a target in two groups gets both groups\u2019 data; the earlier group wins a conflict', async () => {
    const inv = await loadText(
      dir,
      `groups:
  - name: first
    config: {ssh: {user: alice, run-as: root}}
    vars: {colour: red, from_first: 1}
    facts: {os: {family: Debian}}
    targets: [shared.example.com]
  - name: second
    config: {ssh: {user: bob, port: 2222}}
    vars: {colour: blue, from_second: 2}
    facts: {os: {release: '12'}}
    targets: [shared.example.com]
`,
    );
    const [t] = await inv.resolve('second');
    expect(t?.groups).toEqual(['first', 'second']);
    expect(t?.config.ssh).toMatchObject({ user: 'alice', runAs: 'root', port: 2222 });
    expect(t?.vars).toEqual({ colour: 'red', from_first: 1, from_second: 2 });
    // facts merge deeply, as Bolt's Target#facts does.
    expect(t?.facts).toEqual({ os: { family: 'Debian', release: '12' } });
  });

  it('vars merge key by key: a var holding a mapping is replaced whole', async () => {
    const inv = await loadText(
      dir,
      'vars:\n  db: {host: a, port: 5432}\ntargets:\n  - name: t\n    vars:\n      db: {host: b}\n',
    );
    const [t] = await inv.resolve('t');
    expect(t?.vars['db']).toEqual({ host: 'b' });
  });

  it("Bolt's precedence example: target data beats group data, facts from both groups", async () => {
    const inv = await loadFixture('bolt-docs-precedence.yaml');
    const [t] = await inv.resolve('group2');
    expect(t?.name).toBe('mytarget');
    expect(t?.facts).toEqual({ hardwaremodel: 'x86_64', operatingsystem: 'CentOS' });
    expect(t?.config.ssh).toMatchObject({ user: 'puppet', hostKeyCheck: false, host: 'target.example.com' });
    expect(t?.config.ssh.password?.unwrap()).toBe('bolt');
    expect(t?.groups).toEqual(['group1', 'group2']);
  });

  it('a string entry naming a target or alias defined elsewhere adds that target to the group', async () => {
    const inv = await loadText(
      dir,
      'groups:\n  - name: infra\n    targets:\n      - name: primary.example.com\n        alias: primary\n  - name: puppet\n    vars: {managed: true}\n    targets: [primary, primary.example.com]\n',
    );
    expect(inv.allTargetNames()).toEqual(['primary.example.com']);
    const [t] = await inv.resolve('puppet');
    expect(t?.name).toBe('primary.example.com');
    expect(t?.vars).toEqual({ managed: true });
    expect(inv.warnings).toEqual([
      expect.stringMatching(
        /:8:24 groups\[1\]\.targets\[1\]: target "primary\.example\.com" is already listed in group "puppet"/,
      ),
    ]);
  });

  it('YAML anchors and merge keys work', async () => {
    const inv = await loadText(
      dir,
      'vars:\n  shared: &ssh\n    user: deploy\n    port: 2222\ntargets:\n  - name: a\n    config:\n      ssh:\n        <<: *ssh\n        run-as: root\n',
    );
    const [a] = await inv.resolve('a');
    expect(a?.config.ssh).toMatchObject({ user: 'deploy', port: 2222, runAs: 'root' });
  });
});

describe('Bolt documentation examples', () => {
  it('the basic example loads; ssh targets resolve, winrm ones load with a warning and fail when resolved', async () => {
    const inv = await loadFixture('bolt-docs-basic.yaml');
    expect(inv.allTargetNames()).toEqual(['target1.example.com', 'target2.example.com', 'win1', 'win2']);
    const linux = await inv.resolve('linux');
    expect(linux.map((t) => [t.name, t.config.transport, t.config.ssh.hostKeyCheck, t.config.ssh.privateKey])).toEqual([
      ['target1.example.com', 'ssh', false, { path: '/path/to/private_key.pem' }],
      ['target2.example.com', 'ssh', false, { path: '/path/to/private_key.pem' }],
    ]);
    expect(inv.warnings.some((w) => w.includes("config.transport: pef does not speak Bolt's winrm transport"))).toBe(
      true,
    );
    expect(inv.warnings.some((w) => w.includes('config.winrm: pef does not speak'))).toBe(true);
    const error = await rejection(inv.resolve('win1'));
    expect(problemsOf(error)[0]?.message).toBe(
      `uses Bolt's winrm transport, which pef does not speak; pef reaches hosts over ssh or local (target win1)`,
    );
  });

  it('the detailed example loads with nested groups and ~ expanded', async () => {
    const inv = await loadFixture('bolt-docs-detailed.yaml');
    const targets = await inv.resolve('ssh_nodes');
    expect(targets).toHaveLength(5);
    expect(byName(targets, '192.168.101.50').config.ssh).toMatchObject({
      user: 'root',
      hostKeyCheck: false,
      privateKey: { path: '/home/op/.ssh/id_rsa' },
    });
    expect(byName(targets, '192.168.100.179').config.ssh.user).toBe('centos');
    expect(byName(targets, '192.168.100.179').groups).toEqual(['ssh_nodes', 'webservers']);
  });

  it("peadm's README shape loads", async () => {
    const inv = await loadFixture('peadm-readme.yaml');
    const targets = await inv.resolve('puppet');
    expect(targets.map((t) => [t.name, t.config.ssh.host, t.config.ssh.user, t.config.ssh.runAs])).toEqual([
      ['pe-xl-core-0.lab1.puppet.vm', 'pe-xl-core-0.lab1.puppet.vm', 'centos', 'root'],
      ['pe-xl-core-1.lab1.puppet.vm', 'pe-xl-core-1.lab1.puppet.vm', 'centos', 'root'],
      ['pe-xl-core-2.lab1.puppet.vm', '10.234.6.45', 'centos', 'root'],
    ]);
  });
});

describe('ssh settings', () => {
  it('private-key paths: ~ is home, relative is next to the inventory file, absolute stays', async () => {
    const inv = await loadText(
      dir,
      'targets:\n  - name: a\n    config: {ssh: {private-key: ~/.ssh/id_ed25519}}\n  - name: b\n    config: {ssh: {private-key: keys/id_lab}}\n  - name: c\n    config: {ssh: {private-key: /etc/pef/id, known-hosts: ./known_hosts}}\n',
      { name: 'sub/inventory.yaml' },
    );
    const targets = await inv.resolve('all');
    expect(byName(targets, 'a').config.ssh.privateKey).toEqual({ path: '/home/op/.ssh/id_ed25519' });
    expect(byName(targets, 'b').config.ssh.privateKey).toEqual({ path: join(dir.path, 'sub', 'keys', 'id_lab') });
    expect(byName(targets, 'c').config.ssh.privateKey).toEqual({ path: '/etc/pef/id' });
    expect(byName(targets, 'c').config.ssh.knownHosts).toBe(join(dir.path, 'sub', 'known_hosts'));
  });

  it('secrets become Sensitive and never serialise', async () => {
    const inv = await loadText(
      dir,
      'config:\n  ssh:\n    password: l0gin-secret\n    sudo-password: sud0-secret\n    private-key:\n      key-data: "-----BEGIN KEY-----"\ntargets: [a.example.com]\n',
    );
    const [a] = await inv.resolve('a.example.com');
    expect(a?.config.ssh.password).toBeInstanceOf(Sensitive);
    expect(a?.config.ssh.password?.unwrap()).toBe('l0gin-secret');
    expect(a?.config.ssh.sudoPassword?.unwrap()).toBe('sud0-secret');
    const key = a?.config.ssh.privateKey;
    expect(key !== undefined && 'data' in key ? key.data.unwrap() : undefined).toBe('-----BEGIN KEY-----');
    const printed = JSON.stringify(a) + JSON.stringify(inv.describe()) + JSON.stringify(inv);
    for (const secret of ['l0gin-secret', 'sud0-secret', 'BEGIN KEY']) expect(printed).not.toContain(secret);
  });

  it('YAML 1.1 booleans, as Bolt reads them: host-key-check: no', async () => {
    const inv = await loadText(dir, 'config:\n  ssh:\n    host-key-check: no\ntargets: [a]\n');
    expect((await inv.resolve('a'))[0]?.config.ssh.hostKeyCheck).toBe(false);
  });

  it('Bolt ssh options pef does not use load with a warning each, naming line and key', async () => {
    const inv = await loadText(
      dir,
      'version: 2\nconfig:\n  ssh:\n    tty: true\n    load-config: false\n    native-ssh: true\n    user: root\ntargets: [a]\n',
    );
    expect(inv.warnings).toEqual([
      expect.stringMatching(
        /inventory\.yaml:4:5 config\.ssh\.tty: "tty" is a Bolt ssh option pef does not use; ignored$/,
      ),
      expect.stringMatching(/:5:5 config\.ssh\.load-config: /),
      expect.stringMatching(/:6:5 config\.ssh\.native-ssh: /),
    ]);
    expect((await inv.resolve('a'))[0]?.config.ssh.user).toBe('root');
  });
});

describe('describe()', () => {
  it('shows groups and merged targets with plugins unresolved and secrets masked', async () => {
    const inv = await loadText(
      dir,
      'config:\n  ssh:\n    sudo-password: {_plugin: env_var, var: PEF_SUDO, default: fallback-secret}\n    password: plain-secret\ngroups:\n  - name: infra\n    targets:\n      - name: p\n        uri: p.example.com\n        alias: primary\n        vars: {role: primary}\n',
    );
    const d = inv.describe();
    expect(d.groups.map((g) => g.name)).toEqual(['all', 'infra']);
    expect(d.targets).toEqual([
      {
        name: 'p',
        uri: 'p.example.com',
        aliases: ['primary'],
        groups: ['infra'],
        role: 'primary',
        config: {
          ssh: {
            'sudo-password': { _plugin: 'env_var', var: 'PEF_SUDO', default: '[sensitive]' },
            password: '[sensitive]',
          },
        },
        vars: { role: 'primary' },
        facts: {},
        features: [],
      },
    ]);
    expect(JSON.stringify(inv)).toBe(JSON.stringify(d));
    expect(JSON.stringify(d)).not.toMatch(/fallback-secret|plain-secret/);
  });
});

describe('inventory.example.yaml', () => {
  const example = join(process.cwd(), 'inventory.example.yaml');

  it('loads without warnings and gives primary, replica and agents', async () => {
    const inv = await loadInventory(example, {
      env: { HOME: '/home/op', PEF_SUDO_PASSWORD: 'example-sudo' },
      prompter: new NonInteractivePrompter(),
    });
    expect(inv.warnings).toEqual([]);
    const [primary] = await inv.targetsWithRole('primary');
    const [replica] = await inv.targetsWithRole('replica');
    expect(primary?.name).toBe('puppet1.example.com');
    expect(replica?.config.ssh).toMatchObject({
      host: '10.20.0.12',
      user: 'ops',
      runAs: 'root',
      privateKey: { path: '/home/op/.ssh/id_ed25519' },
    });
    expect(replica?.config.ssh.sudoPassword?.unwrap()).toBe('example-sudo');
    expect((await inv.targetsWithRole('agent')).map((t) => [t.name, t.config.ssh.port])).toEqual([
      ['web1.example.com', 22],
      ['web2.example.com', 22],
      ['db1.example.com', 2222],
    ]);
  });

  it('names the sudo password variable when it is not set', async () => {
    const inv = await loadInventory(example, { env: { HOME: '/home/op' }, prompter: new NonInteractivePrompter() });
    const error = await rejection(inv.resolve('primary'));
    expect(error.message).toContain('config.ssh.sudo-password: environment variable PEF_SUDO_PASSWORD is not set');
  });
});
