import { describe, expect, it } from '@jest/globals';
import { serviceCommand } from '../../../src/host/services.js';
import { EPOCH_FILE, parseEpochFile } from '../../../src/puppet/epoch.js';
import { FACTS_FILE_NAME, KILL_SWITCH_FILE, MODE_FILE, parseModeFile } from '../../../src/puppet/mode.js';
import { setMode } from '../../../tasks/set-mode.js';
import {
  CA_CFG,
  FACTS_DIR,
  epochFileText,
  fakePuppetHost,
  modeFileText,
  puppetHostsHandler,
  runOn,
  type FakePuppetHost,
} from '../../helpers/fake-puppet-host.js';

const run = (host: FakePuppetHost, params: Record<string, unknown>, noop = false) =>
  runOn(setMode, puppetHostsHandler({ replica: host }), 'replica', params, noop);

describe('set_mode task', () => {
  it('writes the mode file, the fact and the kill-switch, then changes nothing the second time', async () => {
    const host = fakePuppetHost();
    const first = await run(host, { mode: 'passive', peer: 'primary', replication: 'disabled' });
    expect(first.result.error).toBeUndefined();
    expect(first.result).toMatchObject({
      changed: true,
      value: { mode: 'passive', previous_mode: null, peer: 'primary', replication: 'disabled' },
    });
    expect(parseModeFile(host.files.get(MODE_FILE) ?? '')).toMatchObject({ mode: 'passive', peer: 'primary' });
    expect(host.files.get(`${FACTS_DIR}/${FACTS_FILE_NAME}`)).toContain('pef_failover_mode: passive');
    expect(host.files.get(KILL_SWITCH_FILE)).toContain('reason=switched off with set_mode');
    const second = await run(host, { mode: 'passive', replication: 'disabled' });
    expect(second.result).toMatchObject({ changed: false, value: { peer: 'primary', updated: [] } });
  });

  it('switches the CA off in ca.cfg and restarts the running puppetserver', async () => {
    const host = fakePuppetHost();
    const r = await run(host, { mode: 'passive', ca: 'disabled' });
    expect(r.result).toMatchObject({ value: { ca_service: 'disabled', ca_file: CA_CFG, ca_applied: 'restarted' } });
    expect(r.sent).toContain(serviceCommand('lab', 'restart', 'puppetserver'));
    expect(host.files.get(CA_CFG)).toMatch(/^#puppetlabs\.services\.ca\.certificate-authority-service/m);
  });

  it('refuses to enable a CA where there is none, before changing anything', async () => {
    const host = fakePuppetHost({ hasCa: false });
    const r = await run(host, { mode: 'active', ca: 'enabled' });
    expect(r.result.error?.msg).toMatch(/refusing to enable the CA service: there is no CA.*Nothing was changed/s);
    expect(host.files.has(MODE_FILE)).toBe(false);
  });

  it('says so when facter does not read the facts directory it wrote to', async () => {
    const host = fakePuppetHost({ facterReadsFactsDir: false });
    const r = await run(host, { mode: 'active' });
    expect(r.result.error?.msg).toMatch(/facter does not read \/etc\/facter\/facts\.d.*pass facts_dir=/s);
    expect(host.files.has(MODE_FILE)).toBe(true);
  });

  it('in noop lists the writes (epoch, mode, fact) and changes nothing', async () => {
    const host = fakePuppetHost();
    const r = await run(host, { mode: 'active', replication: 'enabled' }, true);
    expect(r.result).toMatchObject({ changed: true });
    expect((r.result.noop?.wouldRun as string[]).length).toBe(3);
    expect(host.files.has(MODE_FILE)).toBe(false);
  });

  it('a server set passive keeps level with its peer: it takes a higher peer epoch, never lowers its own', async () => {
    // The drill's case: the spare at 2 while its peer was promoted to 3 by a switchover; a failover
    // that cannot ask the dead peer must still promote the spare past 3.
    const epochs = async (spareEpoch: number, peerEpoch: number, mode: 'active' | 'passive') => {
      const primary = fakePuppetHost({
        files: new Map([
          [MODE_FILE, modeFileText('active', 'replica')],
          [EPOCH_FILE, epochFileText(peerEpoch)],
        ]),
      });
      const replica = fakePuppetHost({ files: new Map([[EPOCH_FILE, epochFileText(spareEpoch)]]) });
      const r = await runOn(setMode, puppetHostsHandler({ primary, replica }), 'replica', { mode, peer: 'primary' });
      expect(r.result.error).toBeUndefined();
      return parseEpochFile(replica.files.get(EPOCH_FILE) ?? '');
    };
    expect(await epochs(2, 3, 'passive')).toBe(3);
    expect(await epochs(4, 3, 'passive')).toBe(4);
    expect(await epochs(2, 3, 'active')).toBe(2);
  });
});
