import { describe, expect, it } from '@jest/globals';
import { NonInteractivePrompter } from '../../../src/interaction/prompter.js';

describe('NonInteractivePrompter', () => {
  it('refuses with pef/non-interactive and names what to pass instead', async () => {
    const prompter = new NonInteractivePrompter();
    await expect(prompter.confirm({ message: 'Promote replica.lab?', instead: '--yes' })).rejects.toMatchObject({
      kind: 'pef/non-interactive',
      exitCode: 1,
      message: expect.stringContaining('pass --yes instead'),
    });
    await expect(
      prompter.secret({ message: 'sudo password', instead: 'config.ssh.sudo-password (env_var plugin)' }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('sudo-password'),
    });
  });
});
