/**
 * The agent tasks and set_mode on the lab's `pe` profile: agents with PE's (AIO) layout, whose
 * puppet.conf is /etc/puppetlabs/puppet/puppet.conf, and a PE replica whose mode fact a node
 * group could classify on. agent1's puppet.conf and the replica's mode are put back afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { agentCheck } from '../../../tasks/agent-check.js';
import { configureAgents } from '../../../tasks/configure-agents.js';
import { setMode } from '../../../tasks/set-mode.js';
import { ensurePeLab, labSupported, PE_LAB_TIMEOUT_MS, TEST_PE_LAB_DIR } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

const maybe = labSupported() ? describe : describe.skip;
const PUPPET_CONF = '/etc/puppetlabs/puppet/puppet.conf';
const sh = async (host: string, command: string, input?: string): Promise<string> =>
  (
    await labExec(host, ['sh', '-c', command], {
      dir: TEST_PE_LAB_DIR,
      timeoutMs: 300_000,
      ...(input === undefined ? {} : { input }),
    })
  ).stdout.trim();

maybe('agent tasks and set_mode on PE (lab profile pe)', () => {
  let runner: TaskRunner;
  let puppetConf = '';

  beforeAll(async () => {
    runner = await taskRunner((await ensurePeLab()).inventory);
    puppetConf = await sh('agent1', `cat ${PUPPET_CONF}`);
  }, PE_LAB_TIMEOUT_MS);

  afterAll(async () => {
    await runner?.close();
    if (puppetConf !== '') await sh('agent1', `cat > ${PUPPET_CONF}`, `${puppetConf}\n`);
    await sh(
      'replica',
      'rm -f /etc/pef/mode /etc/facter/facts.d/pef_failover.yaml /opt/puppetlabs/facter/facts.d/pef_failover.yaml',
    );
  });

  it('sets server_list in the AIO puppet.conf, once', async () => {
    const params = { server_list: 'primary.lab:8140,replica.lab:8140' };
    const first = (await runner.task(configureAgents, 'agent1', params)).find('agent1.lab')!;
    expect(first).toMatchObject({ status: 'success', changed: true, value: { config: PUPPET_CONF } });
    expect(await sh('agent1', 'puppet config print server_list --section agent')).toBe(
      'primary.lab:8140,replica.lab:8140',
    );
    expect(await sh('agent1', `grep -c server_list ${PUPPET_CONF}`)).toBe('1');
    expect((await runner.task(configureAgents, 'agent1', params)).find('agent1.lab')).toMatchObject({
      status: 'success',
      changed: false,
    });
  });

  it('checks which server compiles for an AIO agent', async () => {
    const result = (
      await runner.task(agentCheck, 'agent1', { server_list: 'primary.lab:8140', expect_server: 'primary.lab' })
    ).find('agent1.lab')!;
    expect(result).toMatchObject({ status: 'success', changed: false, value: { server: 'primary.lab' } });
  }, 300_000);

  it('marks the PE replica passive with a fact the agent reports, once', async () => {
    const params = { mode: 'passive', peer: 'primary.lab' };
    const first = (await runner.task(setMode, 'replica', params)).find('replica.lab')!;
    expect(first).toMatchObject({ status: 'success', changed: true, value: { mode: 'passive' } });
    const factsFile = first.value['facts_file'] as string;
    expect(await sh('replica', `cat ${factsFile}`)).toContain('pef_failover_mode: passive');
    expect(await sh('replica', 'puppet facts show pef_failover_mode --value-only')).toBe('passive');
    expect((await runner.task(setMode, 'replica', params)).find('replica.lab')).toMatchObject({
      status: 'success',
      changed: false,
    });
  });
});
