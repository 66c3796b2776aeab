import { describe, expect, it } from '@jest/globals';
import { PefError } from '../../../src/errors/pef-error.js';
import type { HostCommands, TaskContext } from '../../../src/task/task.js';
import { agentCheckCommand, agentExitProblem, parseAgentRun } from '../../../tasks/agent-check.js';
import { parsePuppetConf } from '../../../tasks/configure-agents.js';
import { checkPeer } from '../../../tasks/promote.js';

describe('agent_check', () => {
  it('passes the server list quoted and keeps the real report files out of it', () => {
    const cmd = agentCheckCommand(['primary.lab:8140', 'replica.lab:8140']);
    expect(cmd).toContain(
      'puppet agent --test --noop --color=false --server_list=primary.lab:8140,replica.lab:8140 --lastrunreport="$d/report.yaml" --lastrunfile="$d/summary.yaml"',
    );
    expect(agentCheckCommand(undefined)).not.toContain('server_list');
  });

  it('reads the compiling server from the report, falling back to master_used and to the log line', () => {
    const run = parseAgentRun(
      'Info: Using environment production\nNotice: Applied catalog\n--- pef report\nhost: agent1.lab\nstatus: unchanged\nenvironment: production\nserver_used: primary.lab:8140\n',
    );
    expect(run).toMatchObject({ serverUsed: 'primary.lab:8140', report: { status: 'unchanged', host: 'agent1.lab' } });
    expect(run.output).not.toContain('server_used');
    expect(parseAgentRun('--- pef report\nmaster_used: "old.lab:8140"\n').serverUsed).toBe('old.lab:8140');
    expect(
      parseAgentRun('Notice: Requesting catalog from replica.lab:8140 (127.0.0.2)\n--- pef report\n').serverUsed,
    ).toBe('replica.lab:8140');
    expect(parseAgentRun('Error: Could not run\n--- pef report\n').serverUsed).toBeNull();
  });

  it('takes 0 and 2 as success and explains the rest', () => {
    expect(agentExitProblem(0, '')).toBeNull();
    expect(agentExitProblem(2, '')).toBeNull();
    expect(
      agentExitProblem(
        1,
        'Notice: Skipping run of Puppet configuration client; administratively disabled (Reason: maint)',
      ),
    ).toMatch(/agent is disabled/);
    expect(agentExitProblem(1, 'Run of Puppet configuration client already in progress; skipping')).toMatch(
      /in progress/,
    );
    expect(agentExitProblem(4, '')).toMatch(/resources failed in noop \(exit 4\)/);
    expect(agentExitProblem(1, 'Error: Connection refused')).toMatch(/no server in the list answered/);
  });
});

describe('configure_agents', () => {
  it('reads settings per section from the probe output', () => {
    expect(
      parsePuppetConf(
        'config=/etc/puppet/puppet.conf\nset main server = primary.lab\nset agent server_list = a:8140, b:8140\n',
      ),
    ).toEqual({
      config: '/etc/puppet/puppet.conf',
      settings: [
        { section: 'main', key: 'server', value: 'primary.lab' },
        { section: 'agent', key: 'server_list', value: 'a:8140, b:8140' },
      ],
    });
  });
});

describe('promote: checkPeer', () => {
  const ctxWith = (peer: (name: string) => Promise<HostCommands>) => ({ peer }) as unknown as TaskContext<unknown>;
  const host = (stdout: string) =>
    ({ target: { name: 'replica.lab' }, read: async () => ({ stdout }) }) as unknown as HostCommands;

  it('reports the peer mode, an unreachable peer as data, and a peer it may not check as unknown', async () => {
    expect(
      (
        await checkPeer(
          ctxWith(async () => host('--- pef mode\nmode=active\n')),
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
          ctxWith(async () => host('')),
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
