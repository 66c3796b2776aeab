import { describe, expect, it } from '@jest/globals';
import { serviceCommand } from '../../../src/host/services.js';
import { KILL_SWITCH_FILE, MODE_FILE, parseModeFile } from '../../../src/puppet/mode.js';
import { promote } from '../../../tasks/promote.js';
import {
  fakePuppetHost,
  modeFileText as modeFile,
  primaryReplicaHandler as world,
  runOn as run,
} from '../../helpers/fake-puppet-host.js';

describe('promote task', () => {
  it('refuses while the peer is reachable and active, changing nothing', async () => {
    const primary = fakePuppetHost({ files: new Map([[MODE_FILE, modeFile('active', 'replica')]]) });
    const replica = fakePuppetHost();
    const r = await run(promote, world(primary, replica), 'replica', { peer: 'primary' });
    expect(r.result.error?.msg).toMatch(/^promote refused on replica: the peer primary is reachable and still active/);
    expect(replica.files.has(MODE_FILE)).toBe(false);
  });

  it('with force, promotes and switches the active peer off', async () => {
    const primary = fakePuppetHost({ files: new Map([[MODE_FILE, modeFile('active', 'replica')]]) });
    const replica = fakePuppetHost();
    const r = await run(promote, world(primary, replica), 'replica', { peer: 'primary', force: true });
    expect(r.result).toMatchObject({ changed: true, value: { mode: 'active', forced: true } });
    expect(primary.files.get(KILL_SWITCH_FILE)).toContain('was promoted with force=true');
  });

  it('promotes with an unreachable peer, starting the stopped services database first', async () => {
    const replica = fakePuppetHost({
      services: new Map([
        ['postgresql', false],
        ['puppetdb', false],
        ['puppetserver', false],
      ]),
    });
    const r = await run(promote, world('down', replica), 'replica', { peer: 'primary' });
    expect(r.result.error).toBeUndefined();
    expect(r.result.value).toMatchObject({
      started: ['postgresql', 'puppetdb', 'puppetserver'],
      peer_check: { reachable: false },
    });
    expect(r.sent.filter((c) => / start /.test(c))).toEqual([
      serviceCommand('lab', 'start', 'postgresql'),
      serviceCommand('lab', 'start', 'puppetdb'),
      serviceCommand('lab', 'start', 'puppetserver'),
    ]);
    expect(parseModeFile(replica.files.get(MODE_FILE) ?? '')).toMatchObject({ mode: 'active', peer: 'primary' });
  });

  it('fails naming a service the host does not have (status 4) and what it already changed', async () => {
    const replica = fakePuppetHost();
    const r = await run(promote, world('down', replica), 'replica', {
      peer: 'primary',
      services: ['no-such-service'],
    });
    expect(r.result.error?.msg).toMatch(
      /^promote on replica: service no-such-service does not exist here.*Changes made so far: mode active/s,
    );
  });
});
