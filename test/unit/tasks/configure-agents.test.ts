/**
 * configure_agents' `first`: a failover's reorder of each agent's own server_list, for agents
 * whose lists name servers pef can no longer ask about.
 */
import { describe, expect, it } from '@jest/globals';
import { puppetConfReadCommand } from '../../../src/puppet/puppet-conf.js';
import { runTask } from '../../../src/task/run-task.js';
import { configureAgents } from '../../../tasks/configure-agents.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

async function run(conf: string, params: Record<string, unknown>) {
  const fake = fakeRuntime([fakeTarget('a')], (_target, command) =>
    command === puppetConfReadCommand() ? { stdout: `config=/etc/puppet/puppet.conf\n${conf}` } : {},
  );
  const set = await runTask(fake.runtime, configureAgents, [fakeTarget('a')], params);
  return {
    result: set.find('a')!,
    changes: fake.sent.map((s) => s.command).filter((c) => c !== puppetConfReadCommand()),
  };
}

describe('configure_agents first=', () => {
  it("moves the server to the front of the agent's own list, keeping the others in order", async () => {
    const { result, changes } = await run('set main server_list = p.lab,r.lab:8140,c.lab\n', { first: 'r.lab' });
    expect(result.value?.['server_list']).toBe('r.lab,p.lab,c.lab');
    expect(changes).toEqual([
      'PATH=/opt/puppetlabs/bin:$PATH puppet config set server_list r.lab,p.lab,c.lab --section main',
    ]);
  });

  it('takes the [agent] list the agent really uses, or its plain server; changes nothing when already first', async () => {
    const agentList = await run('set main server_list = x.lab\nset agent server_list = p.lab,r.lab\n', {
      first: 'r.lab',
    });
    expect(agentList.result.value?.['server_list']).toBe('r.lab,p.lab');
    expect(agentList.changes).toHaveLength(2); // [main] written, the different [agent] one removed
    expect((await run('set main server = p.lab\n', { first: 'r.lab' })).result.value?.['server_list']).toBe(
      'r.lab,p.lab',
    );
    const done = await run('set main server_list = r.lab,p.lab\n', { first: 'r.lab' });
    expect(done.result).toMatchObject({ status: 'success', changed: false });
    expect(done.changes).toEqual([]);
  });

  it('takes server_list or first, not both or neither', async () => {
    const both = await run('', { first: 'r.lab', server_list: ['p.lab'] });
    expect(both.result.status).toBe('failure');
    expect(both.result.error?.msg).toMatch(/either server_list or first/);
    expect((await run('', {})).result.status).toBe('failure');
  });
});
