import { describe, expect, it } from '@jest/globals';
import { CONNECTION_PROBE } from '../../../src/host/connection-probe.js';
import { checkConnection } from '../../../tasks/check-connection.js';
import { runOn } from '../../helpers/fake-puppet-host.js';

const probe = (stdout: string) => (_target: string, command: string) =>
  command === CONNECTION_PROBE ? { stdout } : { exitCode: 127, stderr: `unexpected ${command}` };
const HOST = 'replica.lab\nroot\nLinux 6.1.0\nDebian GNU/Linux 12 (bookworm)\n';

describe('check_connection task', () => {
  it('reports hostname, user, kernel and OS, changing nothing', async () => {
    const r = await runOn(checkConnection, probe(HOST), 'replica', {});
    expect(r.result).toMatchObject({
      status: 'success',
      changed: false,
      value: { hostname: 'replica.lab', user: 'root', kernel: 'Linux 6.1.0', os: 'Debian GNU/Linux 12 (bookworm)' },
    });
    expect(r.sent).toEqual([CONNECTION_PROBE]);
  });

  it('fails when commands run as another user than expect_user, naming both', async () => {
    const r = await runOn(checkConnection, probe(HOST.replace('root', 'deploy')), 'replica', { expect_user: 'root' });
    expect(r.result.error).toMatchObject({
      kind: 'pef/task-failed',
      msg: 'replica: commands run as "deploy", expected "root". Check run-as / user in the inventory.',
    });
  });

  it('runs the same read-only probe in noop', async () => {
    const r = await runOn(checkConnection, probe(HOST), 'replica', { expect_user: 'root' }, true);
    expect(r.result).toMatchObject({ status: 'success', changed: false, value: { user: 'root' } });
  });
});
