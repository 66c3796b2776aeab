import { describe, expect, it } from '@jest/globals';
import { PefError } from '../../../src/errors/pef-error.js';
import { checkPeer } from '../../../src/puppet/peer-check.js';
import type { HostCommands, TaskContext } from '../../../src/task/task.js';

describe('checkPeer (promote, demote)', () => {
  const ctxWith = (peer: (name: string) => Promise<HostCommands>) => ({ peer }) as unknown as TaskContext<unknown>;
  const host = (stdout: string) =>
    ({ target: { name: 'replica.lab' }, read: () => Promise.resolve({ stdout }) }) as unknown as HostCommands;

  it('reports the peer mode, an unreachable peer as data, and a peer it may not check as unknown', async () => {
    expect(
      (
        await checkPeer(
          ctxWith(() => Promise.resolve(host('--- pef mode\nmode=active\n'))),
          'replica.lab',
        )
      ).check,
    ).toMatchObject({ reachable: true, mode: 'active', kill_switch: false });
    const down = await checkPeer(
      ctxWith(async () => Promise.reject(new PefError('pef/connect-failed', 'ECONNREFUSED'))),
      'gone.lab',
    );
    expect(down.check).toMatchObject({ reachable: false, mode: null, error: { kind: 'pef/connect-failed' } });
    const locked = await checkPeer(
      ctxWith(async () => Promise.reject(new PefError('pef/auth-failed', 'denied'))),
      'replica.lab',
    );
    expect(locked.check).toMatchObject({
      reachable: null,
      note: 'could not establish the state of replica.lab (pef/auth-failed): denied',
    });
    expect(
      (
        await checkPeer(
          ctxWith(() => Promise.resolve(host(''))),
          null,
        )
      ).check.reachable,
    ).toBeNull();
  });

  it.each(['pef/timeout', 'pef/connection-lost'] as const)(
    'reads %s as unknown, never as down, and promote refuses on it',
    async (kind) => {
      const slow = await checkPeer(
        ctxWith(async () => Promise.reject(new PefError(kind, 'no answer'))),
        'primary.lab',
      );
      expect(slow.check).toMatchObject({ reachable: null, error: { kind } });
      expect(slow.check.note).toMatch(/^could not establish the state of primary\.lab/);
    },
  );

  it('does not swallow a name that is not in the inventory', async () => {
    await expect(
      checkPeer(
        ctxWith(async () => Promise.reject(new PefError('pef/unknown-target', 'no target named x'))),
        'x',
      ),
    ).rejects.toThrow(/no target named x/);
  });
});
