/**
 * env_var and prompt plugins: resolved lazily, only for the targets asked for; prompts asked
 * once per message through the injected Prompter; clear errors naming variable, file and path.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NonInteractivePrompter } from '../../../src/interaction/prompter.js';
import { Sensitive } from '../../../src/util/sensitive.js';
import { FakePrompter, TempDir, loadText, problemsOf, rejection } from './inventory-kit.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await TempDir.create();
});
afterAll(async () => {
  await dir.cleanup();
});

describe('env_var', () => {
  const INVENTORY = `config:
  ssh:
    sudo-password: {_plugin: env_var, var: PEF_SUDO}
targets:
  - name: a
    vars:
      extra: {_plugin: env_var, var: PEF_EXTRA, json: true}
      region: {_plugin: env_var, var: PEF_REGION, default: eu-west}
  - name: b
    config:
      ssh:
        user: {_plugin: env_var, var: PEF_USER, optional: true}
        port: {_plugin: env_var, var: PEF_PORT}
        host-key-check: {_plugin: env_var, var: PEF_HKC, default: true}
`;

  it('reads variables; secrets become Sensitive; json parses; default fills in', async () => {
    const inv = await loadText(dir, INVENTORY, {
      env: { HOME: '/home/op', PEF_SUDO: 'sudo-from-env', PEF_EXTRA: '{"zones":[1,2]}' },
    });
    const [a] = await inv.resolve('a');
    expect(a?.config.ssh.sudoPassword).toBeInstanceOf(Sensitive);
    expect(a?.config.ssh.sudoPassword?.unwrap()).toBe('sudo-from-env');
    expect(a?.vars).toEqual({ extra: { zones: [1, 2] }, region: 'eu-west' });
    expect(JSON.stringify(a)).not.toContain('sudo-from-env');
  });

  it('reads numbers and booleans from their string form; optional and unset leaves the default', async () => {
    const inv = await loadText(dir, INVENTORY, {
      env: { HOME: '/home/op', PEF_SUDO: 's', PEF_PORT: '2222', PEF_HKC: 'false' },
    });
    const [b] = await inv.resolve('b');
    expect(b?.config.ssh).toMatchObject({ port: 2222, hostKeyCheck: false });
    expect(b?.config.ssh.user).toBe((await import('node:os')).userInfo().username);
  });

  it('is lazy: an unset variable fails only when a target that uses it is resolved', async () => {
    const inv = await loadText(
      dir,
      'targets:\n  - name: a\n  - name: b\n    config:\n      ssh:\n        password: {_plugin: env_var, var: PEF_B_PASSWORD}\n',
    );
    expect((await inv.resolve('a'))[0]?.name).toBe('a');
    const error = await rejection(inv.resolve('b'));
    const [problem] = problemsOf(error);
    expect(problem).toMatchObject({ line: 6, column: 19, path: 'targets[1].config.ssh.password' });
    expect(problem?.message).toBe(
      'environment variable PEF_B_PASSWORD is not set; export it, or give the plugin a default or optional: true (target b)',
    );
    expect(error.message).toContain(
      `${dir.path}/inventory.yaml:6:19 targets[1].config.ssh.password: environment variable PEF_B_PASSWORD is not set`,
    );
  });

  it('reports every unset variable of every target asked for at once, each reference once', async () => {
    const inv = await loadText(
      dir,
      'config:\n  ssh:\n    sudo-password: {_plugin: env_var, var: PEF_SUDO}\ntargets:\n  - name: a\n    vars: {token: {_plugin: env_var, var: PEF_TOKEN}}\n  - b\n',
    );
    const error = await rejection(inv.resolve('all'));
    expect(
      problemsOf(error).map((p) => [p.line, p.message.split(' is not set')[0], p.message.split('optional: true ')[1]]),
    ).toEqual([
      [3, 'environment variable PEF_SUDO', '(targets a, b)'],
      [6, 'environment variable PEF_TOKEN', '(target a)'],
    ]);
  });

  it('a value that does not fit its key fails, naming the variable and what is expected', async () => {
    const inv = await loadText(dir, INVENTORY, { env: { HOME: '/home/op', PEF_SUDO: 's', PEF_PORT: 'ssh' } });
    const error = await rejection(inv.resolve('b'));
    expect(problemsOf(error)).toEqual([
      expect.objectContaining({
        line: 13,
        path: 'targets[1].config.ssh.port',
        message: 'environment variable PEF_PORT: expected a port number from 1 to 65535, found "ssh" (target b)',
      }),
    ]);
  });

  it('bad JSON is reported without echoing a secret', async () => {
    const inv = await loadText(
      dir,
      'config:\n  ssh:\n    password: {_plugin: env_var, var: PEF_PW, json: true}\ntargets: [a]\n',
      { env: { PEF_PW: 'hunter2-not-json' } },
    );
    const error = await rejection(inv.resolve('a'));
    expect(error.message).toContain('environment variable PEF_PW is not valid JSON (json: true)');
    expect(error.message).not.toContain('hunter2');
  });

  it('a plugin may give the role; a bad one fails when resolved', async () => {
    const inv = await loadText(
      dir,
      'targets:\n  - name: a\n    vars: {role: {_plugin: env_var, var: PEF_ROLE}}\n  - name: b\n    vars: {role: agent}\n',
      { env: { PEF_ROLE: 'replica' } },
    );
    expect((await inv.targetsWithRole('replica')).map((t) => t.name)).toEqual(['a']);
    expect((await inv.targetsWithRole('agent')).map((t) => t.name)).toEqual(['b']);
    const bad = await loadText(dir, 'targets:\n  - name: a\n    vars: {role: {_plugin: env_var, var: PEF_ROLE}}\n', {
      env: { PEF_ROLE: 'boss' },
    });
    expect(problemsOf(await rejection(bad.resolve('a')))[0]?.message).toBe(
      'environment variable PEF_ROLE: expected primary, replica, agent or compiler, found "boss" (target a)',
    );
  });
});

describe('prompt', () => {
  const INVENTORY = `config:
  ssh:
    sudo-password: {_plugin: prompt, message: Sudo password}
targets:
  - name: a
    vars:
      ticket: {_plugin: prompt, message: Change ticket}
  - name: b
    vars:
      ticket: {_plugin: prompt, message: Change ticket}
`;

  it('asks through the Prompter once per message, secretly for secrets', async () => {
    const prompter = new FakePrompter({ 'Sudo password': 'pw-answer', 'Change ticket': 'CHG-42' });
    const inv = await loadText(dir, INVENTORY, { prompter });
    expect(prompter.asked).toEqual([]);
    const [a, b] = await inv.resolve('a,b');
    expect(a?.config.ssh.sudoPassword?.unwrap()).toBe('pw-answer');
    expect(b?.config.ssh.sudoPassword?.unwrap()).toBe('pw-answer');
    expect(a?.vars['ticket']).toBe('CHG-42');
    expect(b?.vars['ticket']).toBe('CHG-42');
    expect(prompter.asked.map((q) => [q.kind, q.message])).toEqual([
      ['secret', 'Sudo password'],
      ['input', 'Change ticket'],
    ]);
  });

  it('without a TTY the question is refused with how to supply the value instead', async () => {
    const inv = await loadText(dir, INVENTORY, { prompter: new NonInteractivePrompter() });
    const error = await rejection(inv.resolve('a'));
    expect(error.kind).toBe('pef/non-interactive');
    expect(error.message).toContain('Sudo password');
    expect(error.message).toContain('{_plugin: env_var, var: PEF_SUDO_PASSWORD}');
    expect(error.message).toContain(`${dir.path}/inventory.yaml:3:20 config.ssh.sudo-password`);
    expect(error.message).toContain('set that environment variable');
  });

  it('a refused question shared by several targets is reported once', async () => {
    const inv = await loadText(dir, INVENTORY, { prompter: new NonInteractivePrompter() });
    const error = await rejection(inv.resolve('a,b'));
    expect(error.kind).toBe('pef/non-interactive');
    expect(error.message.match(/Sudo password/g)).toHaveLength(1);
  });

  it('a refusal next to other problems is listed with them', async () => {
    const inv = await loadText(dir, `${INVENTORY}  - name: c\n    vars: {x: {_plugin: env_var, var: PEF_UNSET}}\n`, {
      prompter: new NonInteractivePrompter(),
    });
    const error = await rejection(inv.resolve('c'));
    expect(error.kind).toBe('pef/inventory-error');
    expect(problemsOf(error).map((p) => p.line)).toEqual([3, 12]);
  });
});
