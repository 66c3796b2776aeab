/**
 * Malformed inventories: each must fail with one `pef/inventory-error` whose problem names the
 * line (and column), the YAML path, what the file says and what is expected.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadInventory } from '../../../src/inventory/load-inventory.js';
import { NonInteractivePrompter } from '../../../src/interaction/prompter.js';
import { TempDir, loadText, problemsOf, rejection } from './inventory-kit.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await TempDir.create();
});
afterAll(async () => {
  await dir.cleanup();
});

interface Case {
  name: string;
  yaml: string;
  line: number;
  column?: number;
  path: string;
  says: string[];
}

// prettier-ignore
const CASES: Case[] = [
  {
    name: 'wrong version',
    yaml: 'version: 1\ntargets: [a.example.com]\n',
    line: 1, column: 10, path: 'version', says: ['expected version 2', 'found 1'],
  },
  {
    name: 'groups is not a list',
    yaml: 'groups:\n  name: web\n  targets: [a.example.com]\n',
    line: 2, column: 3, path: 'groups', says: ['expected a list of groups', 'found a mapping'],
  },
  {
    name: 'group without a name',
    yaml: 'groups:\n  - name: web\n    targets: [a.example.com]\n  - targets: [b.example.com]\n',
    line: 4, column: 5, path: 'groups[1].name', says: ['missing required key "name"', 'expected a group name'],
  },
  {
    name: 'duplicate group',
    yaml: 'groups:\n  - name: web\n  - name: db\n  - name: web\n',
    line: 4, column: 11, path: 'groups[2].name', says: ['group "web" is defined twice', 'first at line 2'],
  },
  {
    name: 'group and target with the same name',
    yaml: 'groups:\n  - name: web\n    targets:\n      - name: db\n  - name: db\n',
    line: 4, column: 15, path: 'groups[0].targets[0].name', says: ['target "db" has the same name as a group', 'first at line 5'],
  },
  {
    name: 'target that is neither a string nor a mapping',
    yaml: 'targets:\n  - a.example.com\n  - 42\n',
    line: 3, column: 5, path: 'targets[1]', says: ['expected a target', 'found 42'],
  },
  {
    name: 'target string that is not a uri',
    yaml: 'targets:\n  - "bad host!"\n',
    line: 2, column: 5, path: 'targets[0]', says: ['invalid target "bad host!"', 'expected [ssh://][user@]host[:port]'],
  },
  {
    name: 'uri with an unknown scheme',
    yaml: 'targets:\n  - uri: telnet://a.example.com\n    name: a\n',
    line: 2, column: 10, path: 'targets[0].uri', says: ['unknown scheme "telnet://"', 'expected ssh:// or local://'],
  },
  {
    name: 'port out of range',
    yaml: 'config:\n  ssh:\n    port: 70000\ntargets: [a.example.com]\n',
    line: 3, column: 11, path: 'config.ssh.port', says: ['expected a port number from 1 to 65535', 'found 70000'],
  },
  {
    name: 'port that is not a number',
    yaml: 'targets:\n  - name: a\n    config:\n      ssh:\n        port: twenty-two\n',
    line: 5, column: 15, path: 'targets[0].config.ssh.port', says: ['expected a port number from 1 to 65535', 'found "twenty-two"'],
  },
  {
    name: 'port out of range in a uri',
    yaml: 'targets:\n  - a.example.com:99999\n',
    line: 2, column: 5, path: 'targets[0]', says: ['port "99999"', 'not a number from 1 to 65535'],
  },
  {
    name: 'unknown transport',
    yaml: 'config:\n  transport: telnet\n',
    line: 2, column: 14, path: 'config.transport', says: ['expected ssh or local', 'found "telnet"'],
  },
  {
    name: 'unknown config key, with a suggestion',
    yaml: 'config:\n  sshh:\n    user: root\n',
    line: 2, column: 3, path: 'config.sshh', says: ['unknown key "sshh"', 'did you mean "ssh"?'],
  },
  {
    name: 'unknown ssh key, with a suggestion',
    yaml: 'config:\n  ssh:\n    host_key_check: false\n',
    line: 3, column: 5, path: 'config.ssh.host_key_check', says: ['unknown key "host_key_check"', 'did you mean "host-key-check"?'],
  },
  {
    name: 'unknown group key',
    yaml: 'groups:\n  - name: web\n    hosts: [a]\n',
    line: 3, column: 5, path: 'groups[0].hosts', says: ['unknown key "hosts"'],
  },
  {
    name: 'bad role',
    yaml: 'targets:\n  - name: a.example.com\n    vars:\n      role: leader\n',
    line: 4, column: 13, path: 'targets[0].vars.role', says: ['expected primary, replica, agent or compiler', 'found "leader"'],
  },
  {
    name: 'alias colliding with a target name',
    yaml: 'targets:\n  - name: web1\n  - name: web2\n    alias: web1\n',
    line: 4, column: 12, path: 'targets[1].alias', says: ['alias "web1" of target "web2" is also a target name', 'first at line 2'],
  },
  {
    name: 'one alias for two targets',
    yaml: 'groups:\n  - name: a\n    targets:\n      - name: web1\n        alias: [front, www]\n  - name: b\n    targets:\n      - name: web2\n        alias: [www]\n',
    line: 9, column: 17, path: 'groups[1].targets[0].alias[0]', says: ['alias "www" already names target "web1"', 'first at line 5'],
  },
  {
    name: 'alias colliding with a group name',
    yaml: 'groups:\n  - name: web\n    targets:\n      - name: web1\n        alias: web\n',
    line: 5, column: 16, path: 'groups[0].targets[0].alias', says: ['alias "web" of target "web1" is also a group name'],
  },
  {
    name: 'private-key of the wrong type',
    yaml: 'config:\n  ssh:\n    private-key: [a, b]\n',
    line: 3, column: 18, path: 'config.ssh.private-key', says: ['expected a path to a private key file, or {key-data: <the key>}', 'found a list'],
  },
  {
    name: 'private-key mapping without key-data',
    yaml: 'config:\n  ssh:\n    private-key:\n      keydata: abc\n',
    line: 4, column: 7, path: 'config.ssh.private-key.keydata', says: ['unknown key "keydata"', 'did you mean "key-data"?'],
  },
  {
    name: 'host-key-check that is not a boolean',
    yaml: 'config:\n  ssh:\n    host-key-check: sometimes\n',
    line: 3, column: 21, path: 'config.ssh.host-key-check', says: ['expected true or false', 'found "sometimes"'],
  },
  {
    name: 'connect-timeout that is not positive',
    yaml: 'config:\n  ssh:\n    connect-timeout: -5\n',
    line: 3, column: 22, path: 'config.ssh.connect-timeout', says: ['expected a number of seconds greater than 0', 'found -5'],
  },
  {
    name: 'env_var without var',
    yaml: 'config:\n  ssh:\n    sudo-password:\n      _plugin: env_var\n      default: x\n',
    line: 4, column: 7, path: 'config.ssh.sudo-password.var', says: ['missing required key "var"', 'expected the name of an environment variable'],
  },
  {
    name: 'env_var with a misspelt key',
    yaml: 'vars:\n  token: {_plugin: env_var, variable: TOKEN}\n',
    line: 2, column: 29, path: 'vars.token.variable', says: ['unknown key "variable"', 'did you mean "var"?'],
  },
  {
    name: 'unknown plugin',
    yaml: 'config:\n  ssh:\n    password:\n      _plugin: vault\n      path: secrets/ssh\n',
    line: 4, column: 16, path: 'config.ssh.password._plugin', says: ['expected env_var or prompt', 'found "vault"'],
  },
  {
    name: 'unknown plugin nested in vars',
    yaml: 'vars:\n  db:\n    password: {_plugin: pkcs7, encrypted_value: x}\n',
    line: 3, column: 25, path: 'vars.db.password._plugin', says: ['expected env_var or prompt', 'found "pkcs7"'],
  },
  {
    name: 'plugin that lists targets',
    yaml: 'targets:\n  - _plugin: puppetdb\n    query: "inventory[certname] {}"\n',
    line: 2, column: 5, path: 'targets[0]', says: ['plugins that list targets or groups', 'not supported'],
  },
  {
    name: 'plugin for a whole config block',
    yaml: 'config:\n  ssh: {_plugin: env_var, var: SSH_CONFIG, json: true}\n',
    line: 2, column: 8, path: 'config.ssh', says: ['only for single values'],
  },
  {
    name: 'YAML syntax error',
    yaml: 'targets: [a.example.com, b.example.com\nconfig:\n  transport: ssh\n',
    line: 2, column: 1, path: '', says: ['YAML syntax error'],
  },
  {
    name: 'tab-indented YAML',
    yaml: 'config:\n\tssh:\n\t\tuser: root\n',
    line: 2, column: 1, path: '', says: ['YAML syntax error', 'Tabs', 'indent with spaces'],
  },
  {
    name: 'duplicate key',
    yaml: 'targets: [a.example.com]\nconfig: {}\ntargets: [b.example.com]\n',
    line: 3, column: 1, path: '', says: ['YAML syntax error', 'unique'],
  },
  {
    name: 'empty file',
    yaml: '',
    line: 1, column: 1, path: '', says: ['the inventory is empty', 'expected a mapping with targets and/or groups'],
  },
  {
    name: 'only comments',
    yaml: '# nothing here yet\n',
    line: 1, column: 1, path: '', says: ['the inventory is empty'],
  },
  {
    name: 'top-level list',
    yaml: '- a.example.com\n- b.example.com\n',
    line: 1, column: 1, path: '', says: ['the inventory must be a mapping', 'found a list'],
  },
  {
    name: 'Bolt v1 nodes',
    yaml: 'groups:\n  - name: web\n    nodes: [a.example.com]\n',
    line: 3, column: 5, path: 'groups[0].nodes', says: ['Bolt v1 inventory', 'targets'],
  },
  {
    name: 'target mapping with neither name nor uri',
    yaml: 'targets:\n  - vars: {role: agent}\n',
    line: 2, column: 5, path: 'targets[0]', says: ['a target mapping needs a name or a uri'],
  },
  {
    name: 'group called all',
    yaml: 'groups:\n  - name: all\n',
    line: 2, column: 11, path: 'groups[0].name', says: ['"all" is the implicit top-level group'],
  },
  {
    name: 'group name with capitals',
    yaml: 'groups:\n  - name: WebServers\n',
    line: 2, column: 11, path: 'groups[0].name', says: ['expected a group name of lowercase letters', 'found "WebServers"'],
  },
  {
    name: 'target name with a space',
    yaml: 'targets:\n  - name: my host\n    uri: a.example.com\n',
    line: 2, column: 11, path: 'targets[0].name', says: ['without spaces or commas', 'found "my host"'],
  },
  {
    name: 'password in a uri',
    yaml: 'targets:\n  - ssh://root:hunter2@a.example.com\n',
    line: 2, column: 5, path: 'targets[0]', says: ['a password in the uri', 'config.ssh.password'],
  },
  {
    name: 'vars that are not a mapping',
    yaml: 'groups:\n  - name: web\n    vars: [role, agent]\n',
    line: 3, column: 11, path: 'groups[0].vars', says: ['expected a mapping', 'found a list'],
  },
  {
    name: 'alias that is neither a string nor a list',
    yaml: 'targets:\n  - name: a\n    alias: {x: 1}\n',
    line: 3, column: 12, path: 'targets[0].alias', says: ['expected an alias or a list of aliases', 'found a mapping'],
  },
  {
    name: 'empty value where a mapping is expected',
    yaml: 'groups:\n  - name: web\n    targets: [a]\n    vars:\n',
    line: 4, column: 5, path: 'groups[0].vars', says: ['expected a mapping', 'found an empty value'],
  },
  {
    name: 'features that are not a list',
    yaml: 'features: puppet-agent\n',
    line: 1, column: 11, path: 'features', says: ['expected a list of feature names', 'found "puppet-agent"'],
  },
];

describe('malformed inventories', () => {
  it('has at least 20 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const error = await rejection(loadText(dir, c.yaml, { name: `${c.name.replace(/\W+/g, '-')}.yaml` }));
    const problems = problemsOf(error);
    const problem = problems.find((p) => p.path === c.path && c.says.every((s) => p.message.includes(s)));
    if (!problem) throw new Error(`no problem at ${c.path} saying ${JSON.stringify(c.says)}; got:\n${error.message}`);
    expect(problem.line).toBe(c.line);
    if (c.column !== undefined) expect(problem.column).toBe(c.column);
    // The message lists the problem as file:line:col path: message.
    const file = (error.details as { file: string }).file;
    expect(error.message).toContain(
      `${file}:${problem.line}:${problem.column}${c.path === '' ? '' : ` ${c.path}`}: ${problem.message}`,
    );
    expect(error.message).not.toMatch(/\n\s+at /);
  });
});

describe('collected problems', () => {
  it('reports every problem of a file at once, in file order, one per line', async () => {
    const error = await rejection(
      loadText(
        dir,
        'groups:\n  - name: web\n    config:\n      ssh:\n        port: 0\n  - name: web\n    vars: {role: boss}\n  - targets: 7\n',
      ),
    );
    const problems = problemsOf(error);
    expect(problems.map((p) => [p.line, p.path])).toEqual([
      [5, 'groups[0].config.ssh.port'],
      [6, 'groups[1].name'],
      [7, 'groups[1].vars.role'],
      [8, 'groups[2].name'],
      [8, 'groups[2].targets'],
    ]);
    expect(error.message.split('\n')).toHaveLength(1 + problems.length);
    expect(error.message.split('\n')[0]).toMatch(/^invalid inventory .*inventory\.yaml \(5 problems\):$/);
  });

  it('never echoes a secret it rejects', async () => {
    const error = await rejection(
      loadText(dir, 'config:\n  ssh:\n    sudo-password: 918273645\n    password: [s3cr3tpass]\n'),
    );
    expect(problemsOf(error).map((p) => p.path)).toEqual(['config.ssh.sudo-password', 'config.ssh.password']);
    expect(error.message).toContain('found a number');
    expect(error.message).not.toContain('918273645');
    expect(error.message).not.toContain('s3cr3tpass');
  });

  it('a missing file is a file-error that names the path and --inventory', async () => {
    const missing = `${dir.path}/nope/inventory.yaml`;
    const error = await rejection(loadInventory(missing, { prompter: new NonInteractivePrompter() }));
    expect(error.kind).toBe('pef/file-error');
    expect(error.message).toContain(missing);
    expect(error.message).toContain('--inventory');
  });

  it('a directory is a file-error too', async () => {
    const error = await rejection(loadInventory(dir.path, { prompter: new NonInteractivePrompter() }));
    expect(error.kind).toBe('pef/file-error');
    expect(error.message).toContain('is a directory');
  });
});
