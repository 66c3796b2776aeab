/**
 * `Inventory.show`, what `pef inventory show` prints: no secret is read and no question asked;
 * secrets show as [sensitive], and what a connection will need later is a warning now.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { loadInventory } from '../../../src/inventory/load-inventory.js';
import { NonInteractivePrompter } from '../../../src/interaction/prompter.js';
import { FakePrompter, TempDir, loadText } from './inventory-kit.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await TempDir.create();
});
afterAll(async () => {
  await dir.cleanup();
});

describe('Inventory.show', () => {
  it('shows inventory.example.yaml with an empty environment: [sensitive], and a warning for the unset variable', async () => {
    const inv = await loadInventory(join(process.cwd(), 'inventory.example.yaml'), {
      env: {},
      prompter: new NonInteractivePrompter(),
    });
    const { targets, warnings } = await inv.show('all');
    expect(targets.map((t) => t.name)).toEqual([
      'puppet1.example.com',
      'puppet2.example.com',
      'web1.example.com',
      'web2.example.com',
      'db1.example.com',
    ]);
    expect(targets.map((t) => t.config.ssh.sudoPassword)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /inventory\.example\.yaml:\d+:\d+ config\.ssh\.sudo-password: environment variable PEF_SUDO_PASSWORD is not set; pef needs it when it first connects \(targets puppet1\.example\.com, .*db1\.example\.com\)$/,
      ),
    ]);
    // A run still needs the secret, and says so: showing did not make resolution lenient.
    await expect(inv.resolve('primary')).rejects.toThrow(/PEF_SUDO_PASSWORD is not set/);
  });

  it('never reads a set secret: it shows as [sensitive] and the value is nowhere in the result', async () => {
    const secret = 'show-must-not-read-4e2a';
    const inv = await loadInventory(join(process.cwd(), 'inventory.example.yaml'), {
      env: { PEF_SUDO_PASSWORD: secret },
      prompter: new NonInteractivePrompter(),
    });
    const { targets, warnings } = await inv.show('primary');
    expect(warnings).toEqual([]);
    expect(targets[0]?.config.ssh.sudoPassword?.unwrap()).toBe('[sensitive]');
    expect(JSON.stringify(targets)).toContain('"sudoPassword":"[sensitive]"');
    expect(JSON.stringify(targets)).not.toContain(secret);
  });

  it('asks no question: a prompt is a warning; non-secret variables are read, unset ones warned about', async () => {
    const prompter = new FakePrompter({ 'Sudo password': 'never-asked' });
    const inv = await loadText(
      dir,
      `config:
  ssh:
    sudo-password: {_plugin: prompt, message: Sudo password}
targets:
  - name: a
    vars:
      region: {_plugin: env_var, var: PEF_REGION}
      zone: {_plugin: env_var, var: PEF_ZONE}
`,
      { env: { HOME: '/home/op', PEF_REGION: 'eu-west' }, prompter },
    );
    const { targets, warnings } = await inv.show('a');
    expect(prompter.asked).toEqual([]);
    expect(targets[0]?.vars).toEqual({ region: 'eu-west' });
    expect(String(targets[0]?.config.ssh.sudoPassword)).toBe('[sensitive]');
    expect(warnings).toEqual([
      expect.stringContaining('config.ssh.sudo-password: pef asks "Sudo password" when it first connects (target a)'),
      expect.stringContaining('vars.zone: environment variable PEF_ZONE is not set'),
    ]);
  });
});
