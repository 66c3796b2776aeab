import { describe, expect, it } from '@jest/globals';
import { DISCOVER_SCRIPT } from '../../../src/host/discover.js';
import { discover } from '../../../tasks/discover.js';
import { fakePuppetHost, puppetHostsHandler, runOn } from '../../helpers/fake-puppet-host.js';

describe('discover task', () => {
  it('runs the probe and its follow-up, read-only, and returns the facts', async () => {
    const host = fakePuppetHost({ hasCa: false });
    host.services.set('puppetdb', false);
    for (const noop of [false, true]) {
      const r = await runOn(discover, puppetHostsHandler({ replica: host }), 'replica', {}, noop);
      expect(r.result).toMatchObject({
        changed: false,
        value: { flavor: 'oss', serviceManager: 'lab', hasCa: false, paths: { confdir: '/etc/puppet' } },
      });
      expect(r.result.value['services']).toContainEqual({ name: 'puppetdb', present: true, running: false });
      expect(r.result.value['services']).toContainEqual({ name: 'puppet', present: false, running: false });
      expect(r.sent).toHaveLength(2);
      expect(r.sent[0]).toBe(DISCOVER_SCRIPT);
    }
  });

  it('fails when the probe cannot run', async () => {
    const r = await runOn(discover, () => ({ exitCode: 126, stderr: 'sh: permission denied' }), 'replica', {});
    expect(r.result.status).toBe('failure');
    expect(r.result.error?.kind).toBe('pef/command-failed');
  });
});
