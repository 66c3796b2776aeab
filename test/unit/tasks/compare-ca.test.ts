/**
 * compare_ca over two fake Puppet hosts: discovery comes from the hosts' model and the digest
 * command is answered per host, so equal, different and missing CAs are checked without a host.
 */
import { describe, expect, it } from '@jest/globals';
import { compareCa } from '../../../tasks/compare-ca.js';
import type { CommandHandler } from '../../helpers/fake-runtime.js';
import { fakePuppetHost, puppetHostsHandler, runOn } from '../../helpers/fake-puppet-host.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function digests(answers: Record<string, string>, replicaHasCa = true): CommandHandler {
  const hosts = puppetHostsHandler({ primary: fakePuppetHost(), replica: fakePuppetHost({ hasCa: replicaHasCa }) });
  return (target, command, options) =>
    command.includes('sha256sum | cut -c1-64')
      ? { stdout: `${answers[target] ?? ''}\n` }
      : hosts(target, command, options);
}

describe('compare_ca task', () => {
  it('says equal when both digests are the same, read-only', async () => {
    const r = await runOn(compareCa, digests({ primary: A, replica: A }), 'primary', { receiver: 'replica' });
    expect(r.result.value).toEqual({ equal: true, digest: { primary: A, replica: A } });
    expect(r.result.changed).toBe(false);
  });

  it('says not equal when one file differs', async () => {
    const r = await runOn(compareCa, digests({ primary: A, replica: B }), 'primary', { receiver: 'replica' });
    expect(r.result.value['equal']).toBe(false);
  });

  it('fails instead of comparing when a server has no CA (never "equal" by two empty answers)', async () => {
    const r = await runOn(compareCa, digests({ primary: A, replica: '' }, false), 'primary', { receiver: 'replica' });
    expect(r.result.status).toBe('failure');
    expect(r.result.error?.msg).toMatch(/no CA to digest on replica/);
  });
});
