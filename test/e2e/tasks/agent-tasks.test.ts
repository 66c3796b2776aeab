/**
 * agent_check, configure_agents and install_agent against the lab. agent1's puppet.conf is put
 * back as found afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { agentCheck } from '../../../tasks/agent-check.js';
import { configureAgents } from '../../../tasks/configure-agents.js';
import { installAgent } from '../../../tasks/install-agent.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

let runner: TaskRunner;
let puppetConf = '';

const sh = (host: string, command: string, input?: string) =>
  labExec(host, ['sh', '-c', command], {
    dir: TEST_LAB_DIR,
    timeoutMs: 300_000,
    ...(input === undefined ? {} : { input }),
  });

beforeAll(async () => {
  runner = await taskRunner((await ensureLab()).inventory);
  puppetConf = (await sh('agent1', 'cat /etc/puppet/puppet.conf')).stdout;
}, 900_000);

afterAll(async () => {
  await runner?.close();
  if (puppetConf) await sh('agent1', 'cat > /etc/puppet/puppet.conf', puppetConf);
});

describe('agent_check', () => {
  it('runs a noop agent run against the given server list and reports the compiling server, leaving the real report alone', async () => {
    const report = '/var/cache/puppet/state/last_run_report.yaml';
    const before = (
      await sh('agent1', `stat -c %Y ${report} 2>/dev/null; test -e /etc/pef-lab-managed && echo managed`)
    ).stdout;
    const set = await runner.task(agentCheck, 'agent1', {
      server_list: 'primary.lab:8140',
      expect_server: 'primary.lab',
    });
    const result = set.find('agent1.lab')!;
    expect(result).toMatchObject({
      status: 'success',
      changed: false,
      value: {
        server_used: 'primary.lab:8140',
        server: 'primary.lab',
        server_list: ['primary.lab:8140'],
        environment: 'production',
      },
    });
    expect([0, 2]).toContain(result.value['exit_code']);
    expect(
      (await sh('agent1', `stat -c %Y ${report} 2>/dev/null; test -e /etc/pef-lab-managed && echo managed`)).stdout,
    ).toBe(before);
  }, 300_000);

  it('fails when another server than expected compiled, and when no listed server answers', async () => {
    const wrong = (
      await runner.task(agentCheck, 'agent1', { server_list: ['primary.lab'], expect_server: 'replica.lab' })
    ).find('agent1.lab')!;
    expect(wrong.status).toBe('failure');
    expect(wrong.error?.msg).toMatch(/compiled by primary\.lab:8140, not replica\.lab/);
    // The replica runs no puppetserver in the lab.
    const down = (await runner.task(agentCheck, 'agent1', { server_list: 'replica.lab:8140' })).find('agent1.lab')!;
    expect(down.status).toBe('failure');
    expect(down.error?.msg).toMatch(/agent_check on agent1\.lab: the run failed \(exit 1\)/);
  }, 300_000);
});

describe('configure_agents', () => {
  it('sets server_list in [main], removes a conflicting [agent] one, is idempotent, and noop changes nothing', async () => {
    await sh(
      'agent1',
      'puppet config delete server_list --section main >/dev/null 2>&1; puppet config set server_list other.lab --section agent',
    );
    const params = { server_list: 'primary.lab:8140, replica.lab:8140' };
    const preview = (await runner.task(configureAgents, 'agent1', params, { noop: true })).find('agent1.lab')!;
    expect(preview.noop?.wouldRun).toEqual([
      'PATH=/opt/puppetlabs/bin:$PATH puppet config set server_list primary.lab:8140,replica.lab:8140 --section main',
      'PATH=/opt/puppetlabs/bin:$PATH puppet config delete server_list --section agent',
    ]);
    expect((await sh('agent1', 'puppet config print server_list --section agent')).stdout.trim()).toBe('other.lab');

    const first = (await runner.task(configureAgents, 'agent1', params)).find('agent1.lab')!;
    expect(first).toMatchObject({
      status: 'success',
      changed: true,
      value: { config: '/etc/puppet/puppet.conf', server_list: 'primary.lab:8140,replica.lab:8140', warnings: [] },
    });
    expect((await sh('agent1', 'puppet config print server_list --section agent')).stdout.trim()).toBe(
      'primary.lab:8140,replica.lab:8140',
    );
    expect(
      (await runner.task(configureAgents, 'agent1', { server_list: ['primary.lab:8140', 'replica.lab:8140'] })).find(
        'agent1.lab',
      ),
    ).toMatchObject({ status: 'success', changed: false });
  }, 300_000);

  it('warns about an explicit ca_server and removes it when asked', async () => {
    await sh('agent1', 'puppet config set ca_server primary.lab --section main');
    const warned = (
      await runner.task(configureAgents, 'agent1', { server_list: 'primary.lab:8140,replica.lab:8140' })
    ).find('agent1.lab')!;
    expect(warned).toMatchObject({ changed: false });
    expect(warned.value['warnings']).toEqual([
      expect.stringMatching(/^\[main\] ca_server = primary\.lab is set explicitly/),
    ]);
    const removed = (
      await runner.task(configureAgents, 'agent1', {
        server_list: 'primary.lab:8140,replica.lab:8140',
        remove_settings: ['ca_server'],
      })
    ).find('agent1.lab')!;
    expect(removed).toMatchObject({
      changed: true,
      value: { updated: ['removed [main] ca_server = primary.lab'], warnings: [] },
    });
    expect((await sh('agent1', 'grep -c ca_server /etc/puppet/puppet.conf')).stdout.trim()).toBe('0');
  }, 300_000);
});

describe('install_agent', () => {
  it("reports the primary's versions and changes nothing when the replica already matches", async () => {
    const result = (await runner.task(installAgent, 'replica', { source: 'primary' })).find('replica.lab')!;
    expect(result).toMatchObject({
      status: 'success',
      changed: false,
      value: { source: 'primary.lab', flavor: 'oss', manager: 'apt', installed: [] },
    });
    const versions = result.value['versions'] as Record<string, string>;
    expect(Object.keys(versions).sort()).toEqual([
      'puppet-agent',
      'puppet-terminus-puppetdb',
      'puppetdb',
      'puppetserver',
    ]);
    expect(versions['puppet-agent']).toBe((await sh('primary', "dpkg-query -W -f='${Version}' puppet-agent")).stdout);
    expect(result.value['matching']).toEqual(Object.keys(versions));
    const preview = (await runner.task(installAgent, 'replica', { source: 'primary' }, { noop: true })).find(
      'replica.lab',
    )!;
    expect(preview).toMatchObject({ changed: false, noop: { wouldRun: [] } });
  }, 300_000);
});
