/**
 * check_pair over two fake Puppet hosts: discovery is answered by the hosts' model, and the
 * measurement probe (disk, data size, clock) by each test, so the verdicts and the refusal of a
 * measurement that could not be taken are checked without a host.
 */
import { describe, expect, it } from '@jest/globals';
import { checkPair } from '../../../tasks/check-pair.js';
import type { CommandHandler } from '../../helpers/fake-runtime.js';
import { fakePuppetHost, puppetHostsHandler, runOn } from '../../helpers/fake-puppet-host.js';

const hosts = puppetHostsHandler({ primary: fakePuppetHost(), replica: fakePuppetHost({ hasCa: false }) });
const isMeasure = (command: string) => command.includes('data_kb=');

// Answers the measurement probe per host; everything else goes to the fake hosts.
function measuring(answers: Record<string, string>): CommandHandler {
  return (target, command, options) =>
    isMeasure(command) ? { stdout: answers[target] ?? '' } : hosts(target, command, options);
}

const now = () => (Date.now() / 1000).toFixed(3);

describe('check_pair task', () => {
  it('passes a pair with room and clocks in step, read-only, listing every verdict', async () => {
    const line = `data_kb=1000\nfree_kb=900000\nclock=${now()}\n`;
    const r = await runOn(checkPair, measuring({ primary: line, replica: line }), 'primary', { replica: 'replica' });
    expect(r.result.error).toBeUndefined();
    const findings = r.result.value['findings'] as { check: string; status: string }[];
    expect(findings.map((f) => f.check)).toEqual(['flavor', 'versions', 'dns_alt_names', 'disk', 'clock']);
    expect(findings.find((f) => f.check === 'disk')?.status).toBe('ok');
    expect(findings.find((f) => f.check === 'clock')?.status).toBe('ok');
    expect(r.result.changed).toBe(false);
  });

  it('fails, naming the checks, when the replica is short of disk and its clock is off', async () => {
    const late = (Date.now() / 1000 + 120).toFixed(3);
    const r = await runOn(
      checkPair,
      measuring({
        primary: `data_kb=1000\nfree_kb=9\nclock=${now()}\n`,
        replica: `data_kb=0\nfree_kb=1500\nclock=${late}\n`,
      }),
      'primary',
      { replica: 'replica' },
    );
    expect(r.result.status).toBe('failure');
    expect(r.result.error?.msg).toMatch(/disk: .*twice that/);
    expect(r.result.error?.msg).toMatch(/clock: the clocks are 12\ds apart/);
  });

  it('refuses a measurement the probe did not print instead of counting it as zero', async () => {
    const r = await runOn(
      checkPair,
      measuring({ primary: `data_kb=1000\nfree_kb=900000\nclock=${now()}\n`, replica: 'data_kb=0\nfree_kb=900000\n' }),
      'primary',
      { replica: 'replica' },
    );
    expect(r.result.status).toBe('failure');
    expect(r.result.error?.msg).toMatch(/could not measure clock on replica/);
  });
});
