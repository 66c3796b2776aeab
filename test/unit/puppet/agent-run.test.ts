import { describe, expect, it } from '@jest/globals';
import { agentCheckCommand, agentExitProblem, parseAgentRun } from '../../../src/puppet/agent-run.js';

describe('agent run (agent_check)', () => {
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
