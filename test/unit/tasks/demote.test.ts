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
});
