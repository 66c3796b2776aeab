import { describe, expect, it } from '@jest/globals';
import { serviceCommand } from '../../../src/host/services.js';
import { service } from '../../../tasks/service.js';
import { fakePuppetHost, puppetHostsHandler, runOn, type FakePuppetHost } from '../../helpers/fake-puppet-host.js';

const run = (host: FakePuppetHost, params: Record<string, unknown>, noop = false) =>
  runOn(service, puppetHostsHandler({ replica: host }), 'replica', params, noop);

const changes = (sent: string[]) => sent.filter((c) => / (start|stop|restart) /.test(c));

describe('service task', () => {
  it('stops agent-first/database-last whatever the order given, leaving stopped ones alone', async () => {
    const host = fakePuppetHost();
    host.services.set('puppetdb', false);
    const r = await run(host, { action: 'stop', services: ['postgresql', 'puppetdb', 'puppetserver'] });
    expect(r.result).toMatchObject({
      changed: true,
      value: { manager: 'lab', stopped: ['puppetserver', 'postgresql'] },
    });
    expect(changes(r.sent)).toEqual([
      serviceCommand('lab', 'stop', 'puppetserver'),
      serviceCommand('lab', 'stop', 'postgresql'),
    ]);
    expect([...host.services.values()]).toEqual([false, false, false]);
    expect((await run(host, { action: 'stop', services: ['puppetserver'] })).result.changed).toBe(false);
  });

  it('starts database first and reports status without changing anything', async () => {
    const host = fakePuppetHost({
      services: new Map([
        ['postgresql', false],
        ['puppetserver', false],
      ]),
    });
    const status = await run(host, { action: 'status', services: ['puppetserver', 'postgresql'] });
    expect(status.result).toMatchObject({
      changed: false,
      value: { running: { puppetserver: false, postgresql: false } },
    });
    expect(changes(status.sent)).toEqual([]);
    const started = await run(host, { action: 'start', services: ['puppetserver', 'postgresql'] });
    expect(changes(started.sent)).toEqual([
      serviceCommand('lab', 'start', 'postgresql'),
      serviceCommand('lab', 'start', 'puppetserver'),
    ]);
  });

  it('restart starts a stopped service instead; noop lists the commands and changes nothing', async () => {
    const host = fakePuppetHost();
    host.services.set('puppetdb', false);
    const r = await run(host, { action: 'restart', services: ['puppetdb', 'puppetserver'] }, true);
    expect(r.result.noop?.wouldRun).toEqual([
      serviceCommand('lab', 'restart', 'puppetserver'),
      serviceCommand('lab', 'start', 'puppetdb'),
    ]);
    expect(host.services.get('puppetdb')).toBe(false);
  });

  it('refuses a name the host has no service for (status 4) before changing anything', async () => {
    const host = fakePuppetHost();
    const r = await run(host, { action: 'stop', services: ['puppetserver', 'no-such-service'] });
    expect(r.result.error?.msg).toMatch(/no-such-service is not a service here.*Nothing was changed/);
    expect(changes(r.sent)).toEqual([]);
    expect(host.services.get('puppetserver')).toBe(true);
  });

  it('stops at the first failure, naming what it already did', async () => {
    const host = fakePuppetHost({
      services: new Map([
        ['postgresql', false],
        ['puppetdb', false],
        ['puppetserver', false],
      ]),
      failStart: 'puppetdb',
    });
    const r = await run(host, { action: 'start', services: ['puppetserver', 'puppetdb', 'postgresql'] });
    expect(r.result.error?.msg).toMatch(/^start puppetdb failed on replica after starting postgresql/);
    expect(r.result.error?.details).toMatchObject({ failed: 'puppetdb', done: ['postgresql'] });
    expect(host.services.get('puppetserver')).toBe(false);
  });
});
