import { describe, expect, it } from '@jest/globals';
import { serviceCommand } from '../../../src/host/services.js';
import { KILL_SWITCH_FILE, MODE_FILE } from '../../../src/puppet/mode.js';
import { demote } from '../../../tasks/demote.js';
import {
  fakePuppetHost,
  modeFileText as modeFile,
  primaryReplicaHandler as world,
  runOn as run,
} from '../../helpers/fake-puppet-host.js';

describe('demote task', () => {
  it('sets passive, switches replication off and the CA off, and reports the peer', async () => {
    const primary = fakePuppetHost({ files: new Map([[MODE_FILE, modeFile('active', 'replica')]]) });
    const replica = fakePuppetHost({ files: new Map([[MODE_FILE, modeFile('active', 'primary')]]) });
    const r = await run(demote, world(primary, replica), 'replica', {});
    expect(r.result.error).toBeUndefined();
    expect(r.result.value).toMatchObject({
      mode: 'passive',
      previous_mode: 'active',
      replication: 'disabled',
      ca_service: 'disabled',
      ca_applied: 'restarted',
      peer_check: { name: 'primary', reachable: true, mode: 'active' },
      warnings: [],
    });
    expect(replica.files.get(KILL_SWITCH_FILE)).toContain('reason=demoted; primary is the active server');
  });

  it('is never refused because of the peer, and warns when no server is active afterwards', async () => {
    const primary = fakePuppetHost({ files: new Map([[MODE_FILE, modeFile('passive', 'replica')]]) });
    const replica = fakePuppetHost({ files: new Map([[MODE_FILE, modeFile('active', 'primary')]]) });
    const r = await run(demote, world(primary, replica), 'replica', { ca: 'leave' });
    expect(r.result.value['warnings']).toEqual([
      'primary is not active either: no server is active now; promote one (pef task run promote -t primary)',
    ]);
    expect(r.sent).not.toContain(serviceCommand('lab', 'restart', 'puppetserver'));
    const down = await run(demote, world('down', fakePuppetHost()), 'replica', { peer: 'primary' });
    expect(down.result).toMatchObject({ changed: true, value: { peer_check: { reachable: false } } });
  });

  it("points its own server settings that named itself at the active peer's certname, and a second run changes nothing", async () => {
    const primary = fakePuppetHost({
      certname: 'primary.lab',
      files: new Map([[MODE_FILE, modeFile('active', 'replica')]]),
    });
    const replica = fakePuppetHost({
      certname: 'replica.lab',
      files: new Map([[MODE_FILE, modeFile('active', 'primary')]]),
      puppetConf: [
        { section: 'main', key: 'server', value: 'replica.lab' },
        { section: 'agent', key: 'ca_server', value: 'replica.lab' },
        { section: 'agent', key: 'report_server', value: 'puppet.example.com' },
      ],
    });
    const first = await run(demote, world(primary, replica), 'replica', {});
    expect(first.result.error).toBeUndefined();
    expect(first.result.value['updated']).toEqual(
      expect.arrayContaining([
        '[main] server = primary.lab (was replica.lab)',
        '[agent] ca_server = primary.lab (was replica.lab)',
      ]),
    );
    expect(replica.puppetConf.map((c) => c.value)).toEqual(['primary.lab', 'primary.lab', 'puppet.example.com']);
    const again = await run(demote, world(primary, replica), 'replica', {});
    expect(again.result).toMatchObject({ status: 'success', changed: false });
  });

  it('leaves its server settings when the peer does not answer, and says what to do', async () => {
    const replica = fakePuppetHost({
      certname: 'replica.lab',
      puppetConf: [{ section: 'main', key: 'server', value: 'replica.lab' }],
    });
    const r = await run(demote, world('down', replica), 'replica', { peer: 'primary' });
    expect(r.result.error).toBeUndefined();
    expect(replica.puppetConf[0]?.value).toBe('replica.lab');
    expect(r.result.value['next_steps']).toEqual(
      expect.arrayContaining([expect.stringMatching(/^primary did not answer: point this host's own server/)]),
    );
  });
});
