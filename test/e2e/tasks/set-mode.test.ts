/**
 * set_mode, promote and demote against the lab: the mode marker and the fact facter sees, the
 * replication kill-switch, the CA service of a stopped server, and the preview of a running
 * one's switch (no puppetserver restart here: the DR drill switches a running server's CA off and
 * on for real). The lab is put back as found in afterAll.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { PefError } from '../../../src/errors/pef-error.js';
import { writeFileCommand } from '../../../src/host/files.js';
import { labExec } from '../../../src/lab/lab-exec.js';
import { EPOCH_FILE } from '../../../src/puppet/epoch.js';
import { caServiceState, setCaService } from '../../../src/puppet/ca-service.js';
import {
  assertReplicationAllowed,
  KILL_SWITCH_FILE,
  MODE_FILE,
  replicationDisabledCheck,
} from '../../../src/puppet/mode.js';
import { demote } from '../../../tasks/demote.js';
import { promote } from '../../../tasks/promote.js';
import { setMode } from '../../../tasks/set-mode.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

const CA_CFG = '/etc/puppet/puppetserver/services.d/ca.cfg';
const FACTS = '/etc/facter/facts.d/pef_failover.yaml';
let runner: TaskRunner;
let tmp: string;
let replicaCaCfg = '';

async function sh(host: string, command: string) {
  return labExec(host, ['sh', '-c', command], { dir: TEST_LAB_DIR, timeoutMs: 300_000 });
}
async function out(host: string, command: string): Promise<string> {
  return (await sh(host, command)).stdout.trim();
}
const exists = async (host: string, path: string) => (await sh(host, `test -e ${path}`)).exitCode === 0;
/** HTTP status of the CA certificate endpoint on the primary. */
const caStatus = () =>
  out('primary', "curl -sk -o /dev/null -w '%{http_code}' https://primary.lab:8140/puppet-ca/v1/certificate/ca");
const forgetModes =
  'rm -f /etc/pef/mode /etc/pef/epoch /etc/pef/replication.disabled /etc/facter/facts.d/pef_failover.yaml';

/** Puts the primary's CA service back on (and restarts) if an earlier, failed run left it off. */
async function primaryCaOn(): Promise<void> {
  const text = await out('primary', `cat ${CA_CFG}`);
  if (caServiceState(text) === 'enabled') return;
  await labExec('primary', ['sh', '-c', `cat > ${CA_CFG} && pef-lab-service restart puppetserver`], {
    dir: TEST_LAB_DIR,
    input: setCaService(text, true),
    timeoutMs: 600_000,
  });
}

beforeAll(async () => {
  const info = await ensureLab();
  // The inventory plus a target nothing answers on, for "the old primary is dead".
  tmp = mkdtempSync(join(tmpdir(), 'pef-set-mode-'));
  const inventory = parse(readFileSync(info.inventory, 'utf8')) as {
    groups: { name: string; targets: { uri: string }[] }[];
  };
  const address = inventory.groups[0]!.targets[0]!.uri.replace(/\.\d+$/, '.250');
  inventory.groups.push({ name: 'gone', targets: [{ name: 'gone.lab', uri: `${address}:1` } as { uri: string }] });
  writeFileSync(join(tmp, 'inventory.yaml'), stringify(inventory));
  runner = await taskRunner(join(tmp, 'inventory.yaml'));
  replicaCaCfg = (await sh('replica', `cat ${CA_CFG}`)).stdout;
  await sh('primary', forgetModes);
  await sh('replica', forgetModes);
  await primaryCaOn();
}, 900_000);

afterAll(async () => {
  await runner?.close();
  await primaryCaOn();
  await sh('primary', forgetModes);
  await sh('replica', forgetModes);
  if (replicaCaCfg)
    await labExec('replica', ['sh', '-c', `cat > ${CA_CFG}`], { dir: TEST_LAB_DIR, input: replicaCaCfg });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 600_000);

describe('set_mode', () => {
  it('writes the marker and a fact facter sees; noop changes nothing; a second run reports no change', async () => {
    const params = { mode: 'passive', peer: 'primary.lab' };
    const preview = (await runner.task(setMode, 'replica', params, { noop: true })).find('replica.lab')!;
    expect(preview).toMatchObject({ status: 'success', changed: true });
    // A server without an epoch starts at its peer's (none here: 1), written before the mode.
    expect(preview.noop?.wouldRun).toEqual([
      `mkdir -p /etc/pef && ${writeFileCommand(EPOCH_FILE, { mode: '644' })}`,
      `mkdir -p /etc/pef && ${writeFileCommand(MODE_FILE, { mode: '644' })}`,
      `mkdir -p /etc/facter/facts.d && ${writeFileCommand(FACTS, { mode: '644' })}`,
    ]);
    expect(await exists('replica', MODE_FILE)).toBe(false);
    expect(await exists('replica', FACTS)).toBe(false);

    const first = (await runner.task(setMode, 'replica', params)).find('replica.lab')!;
    expect(first).toMatchObject({
      status: 'success',
      changed: true,
      value: { mode: 'passive', previous_mode: null, peer: 'primary.lab', facts_file: FACTS, epoch: 1 },
    });
    expect(await out('replica', `sed -n 's/^epoch=//p' ${EPOCH_FILE}`)).toBe('1');
    expect(await out('replica', 'facter -p pef_failover_mode')).toBe('passive');
    expect(await out('replica', 'facter -p pef_failover_peer')).toBe('primary.lab');
    const marker = await out('replica', `cat ${MODE_FILE}`);
    expect(marker).toMatch(/^mode=passive$/m);
    expect(marker).toMatch(/^peer=primary\.lab$/m);
    expect(marker).toMatch(/^by=pef set_mode \(/m);
    expect(marker).toMatch(/^changed_at=\d{4}-\d\d-\d\dT/m);

    expect((await runner.task(setMode, 'replica', params)).find('replica.lab')).toMatchObject({
      status: 'success',
      changed: false,
    });
    // The peer is kept when not given.
    expect((await runner.task(setMode, 'replica', { mode: 'passive' })).find('replica.lab')).toMatchObject({
      changed: false,
      value: { peer: 'primary.lab' },
    });
  }, 300_000);

  it('switches the replication kill-switch on and off, and the shell check and the task helper obey it', async () => {
    const replica = {
      target: { name: 'replica.lab' },
      read: async (c: string) => ({ stdout: (await sh('replica', c)).stdout }),
    };
    const off = (await runner.task(setMode, 'replica', { mode: 'passive', replication: 'disabled' })).find(
      'replica.lab',
    )!;
    expect(off).toMatchObject({
      changed: true,
      value: { replication: 'disabled', updated: ['replication switched off'] },
    });
    expect(await out('replica', `sed -n 's/^reason=//p' ${KILL_SWITCH_FILE}`)).toBe('switched off with set_mode');
    const blocked = await sh('replica', replicationDisabledCheck('receive'));
    expect(blocked.exitCode).toBe(75);
    expect(blocked.stderr).toContain('replication is switched off on replica.lab');
    await expect(assertReplicationAllowed(replica, 'receive', 'sync_ca')).rejects.toThrow(
      /sync_ca refused: replication is switched off on replica\.lab/,
    );
    expect(
      (await runner.task(setMode, 'replica', { mode: 'passive', replication: 'disabled' })).find('replica.lab')
        ?.changed,
    ).toBe(false);

    const on = (await runner.task(setMode, 'replica', { mode: 'passive', replication: 'enabled' })).find(
      'replica.lab',
    )!;
    expect(on).toMatchObject({
      changed: true,
      value: { replication: 'enabled', updated: ['replication switched on'] },
    });
    expect(await exists('replica', KILL_SWITCH_FILE)).toBe(false);
    expect((await sh('replica', replicationDisabledCheck('receive'))).exitCode).toBe(0);
    await expect(assertReplicationAllowed(replica, 'receive', 'sync_ca')).resolves.toMatchObject({ killSwitch: null });
    // A passive server never sends.
    const send = await sh('replica', replicationDisabledCheck('send'));
    expect(send.exitCode).toBe(75);
    expect(send.stderr).toContain('is passive');
    await expect(assertReplicationAllowed(replica, 'send', 'sync_ca')).rejects.toBeInstanceOf(PefError);
  }, 300_000);
});

describe('demote and promote', () => {
  it('demote on a stopped server configures the CA service off, switches replication off, and restarts nothing', async () => {
    const first = (await runner.task(demote, 'replica', { peer: 'primary.lab' })).find('replica.lab')!;
    expect(first).toMatchObject({
      status: 'success',
      changed: true,
      value: { mode: 'passive', replication: 'disabled', ca_service: 'disabled', ca_applied: 'at next start' },
    });
    expect(caServiceState(await out('replica', `cat ${CA_CFG}`))).toBe('disabled');
    expect(await exists('replica', KILL_SWITCH_FILE)).toBe(true);
    expect((await sh('replica', 'pef-lab-service status puppetserver')).exitCode).toBe(3);
    expect((await runner.task(demote, 'replica', { peer: 'primary.lab' })).find('replica.lab')).toMatchObject({
      status: 'success',
      changed: false,
    });
  }, 300_000);

  it('promote refuses while the peer is still active, and changes nothing', async () => {
    await runner.task(setMode, 'primary', { mode: 'active', peer: 'replica.lab' });
    const before = await out('replica', `cat ${MODE_FILE}; cat ${CA_CFG}; ls /etc/pef`);
    const refused = (await runner.task(promote, 'replica', { peer: 'primary.lab' })).find('replica.lab')!;
    expect(refused.status).toBe('failure');
    expect(refused.error?.kind).toBe('pef/split-brain-guard');
    expect(refused.error?.msg).toMatch(
      /promote refused on replica\.lab: the peer primary\.lab is reachable and still active/,
    );
    expect(refused.error?.msg).toContain('Nothing was changed');
    expect(await out('replica', `cat ${MODE_FILE}; cat ${CA_CFG}; ls /etc/pef`)).toBe(before);

    // Forced, it still never starts a server that would create a CA of its own.
    const forced = (
      await runner.task(
        promote,
        'replica',
        { peer: 'primary.lab', force: true, confirm: 'primary.lab' },
        { noop: true },
      )
    ).find('replica.lab')!;
    if (await exists('replica', '/etc/puppet/puppetserver/ca/ca_crt.pem')) {
      // An earlier suite (sync_ca) gave the replica the primary's CA.
      expect(forced).toMatchObject({ status: 'success', value: { forced: true } });
      expect(forced.noop?.wouldRun).toContain('pef-lab-service start puppetserver');
    } else {
      expect(forced.status).toBe('failure');
      expect(forced.error?.msg).toMatch(
        /refusing to enable the CA service: there is no CA in \/etc\/puppet\/puppetserver\/ca .* sync_ca/,
      );
    }
  }, 300_000);

  it('promote with a dead peer notes it in the value instead of failing', async () => {
    const result = (await runner.task(promote, 'primary', { peer: 'gone.lab' })).find('primary.lab')!;
    expect(result).toMatchObject({
      status: 'success',
      value: { mode: 'active', peer: 'gone.lab', peer_check: { name: 'gone.lab', reachable: false, mode: null } },
    });
    expect(String((result.value['peer_check'] as { note: string }).note)).toMatch(/unreachable/);
    expect(result.value['updated']).toEqual(['peer replica.lab -> gone.lab', 'fact pef_failover_mode']);
    expect(await out('primary', 'facter -p pef_failover_peer')).toBe('gone.lab');
  }, 300_000);

  // The real switch of a running server (a puppetserver restart each way) is the DR drill's
  // (test/e2e/workflows/drill.test.ts: the failover's promote, the failback's demote); here only
  // what a restart would not show: the preview, and that a preview changes nothing.
  it('demote previews the CA switch and the restart of a running server, and changes nothing', async () => {
    expect(await caStatus()).toBe('200');
    const preview = (await runner.task(demote, 'primary', { peer: 'replica.lab' }, { noop: true })).find(
      'primary.lab',
    )!;
    expect(preview).toMatchObject({ status: 'success', changed: true });
    const wouldRun = preview.noop?.wouldRun ?? [];
    expect(wouldRun).toContain(`mkdir -p /etc/pef && ${writeFileCommand(MODE_FILE, { mode: '644' })}`);
    expect(wouldRun).toContain(`mkdir -p /etc/pef && ${writeFileCommand(KILL_SWITCH_FILE, { mode: '644' })}`);
    expect(wouldRun).toContain(writeFileCommand(CA_CFG, { mode: '644' }));
    expect(wouldRun).toContain('pef-lab-service restart puppetserver');
    expect(caServiceState(await out('primary', `cat ${CA_CFG}`))).toBe('enabled');
    expect(await out('primary', `sed -n 's/^mode=//p' ${MODE_FILE}`)).toBe('active');
    expect(await exists('primary', KILL_SWITCH_FILE)).toBe(false);
    expect(await caStatus()).toBe('200');
  }, 300_000);
});
