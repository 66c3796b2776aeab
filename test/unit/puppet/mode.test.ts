import { describe, expect, it } from '@jest/globals';
import { PefError } from '../../../src/errors/pef-error.js';
import {
  assertReplicationAllowed,
  KILL_SWITCH_FILE,
  MODE_FILE,
  parseModeFile,
  parseReplicationState,
  renderFactsFile,
  renderKillSwitch,
  renderModeFile,
  replicationBlock,
  replicationDisabledCheck,
  replicationStateCommand,
  type ReplicationState,
} from '../../../src/puppet/mode.js';
import { parse } from 'yaml';

const modeText = renderModeFile({
  mode: 'passive',
  peer: 'primary.lab',
  changedAt: '2026-01-02T03:04:05.000Z',
  by: 'pef demote (root@ctl)',
});
const switchText = renderKillSwitch({
  reason: 'demoted;\nprimary is replica.lab',
  since: '2026-01-02T03:04:05.000Z',
  by: 'pef demote (root@ctl)',
});

describe('mode file', () => {
  it('round-trips, and rejects a file without a valid mode', () => {
    expect(parseModeFile(modeText)).toEqual({
      mode: 'passive',
      peer: 'primary.lab',
      changedAt: '2026-01-02T03:04:05.000Z',
      by: 'pef demote (root@ctl)',
    });
    expect(parseModeFile(renderModeFile({ mode: 'active', peer: null, changedAt: 'x', by: 'y' }))?.peer).toBeNull();
    expect(parseModeFile('mode=primary\n')).toBeNull();
    expect(parseModeFile('')).toBeNull();
  });

  it('keeps the kill-switch reason on one line', () => {
    expect(switchText).toContain('reason=demoted; primary is replica.lab\n');
  });

  it('writes facts facter reads as YAML', () => {
    expect(parse(renderFactsFile('active', 'replica.lab'))).toEqual({
      pef_failover_mode: 'active',
      pef_failover_peer: 'replica.lab',
    });
    expect(parse(renderFactsFile('passive', null))).toEqual({ pef_failover_mode: 'passive', pef_failover_peer: '' });
  });
});

describe('replication state', () => {
  const stateOf = (mode: string, sw?: string) =>
    parseReplicationState(`--- pef mode\n${mode}${sw === undefined ? '' : `--- pef kill-switch\n${sw}\n`}`);

  it('reads the probe output: no files, mode only, mode and kill-switch, an empty kill-switch file', () => {
    expect(stateOf('')).toEqual({ mode: null, killSwitch: null, epoch: null });
    expect(stateOf(modeText)).toMatchObject({ mode: { mode: 'passive' }, killSwitch: null });
    expect(stateOf(modeText, switchText)).toMatchObject({
      mode: { mode: 'passive', peer: 'primary.lab' },
      killSwitch: { reason: 'demoted; primary is replica.lab', by: 'pef demote (root@ctl)' },
    });
    expect(stateOf('', '')).toEqual({
      mode: null,
      killSwitch: { reason: '(no reason given)', since: '', by: '' },
      epoch: null,
    });
  });

  it('names both files in the probe and the shell check', () => {
    expect(replicationStateCommand()).toContain(MODE_FILE);
    expect(replicationStateCommand()).toContain(KILL_SWITCH_FILE);
    expect(replicationDisabledCheck('send')).toContain('case $m in passive | fenced)');
    expect(replicationDisabledCheck('receive')).toContain('case $m in active)');
  });

  it('blocks: everything under the kill-switch, sending from passive, receiving into active; a host without a mode is free', () => {
    const none: ReplicationState = { mode: null, killSwitch: null, epoch: null };
    const active: ReplicationState = {
      mode: { mode: 'active', peer: 'replica.lab', changedAt: '', by: '' },
      killSwitch: null,
      epoch: null,
    };
    const passive: ReplicationState = {
      mode: { mode: 'passive', peer: 'primary.lab', changedAt: '', by: '' },
      killSwitch: null,
      epoch: null,
    };
    const killed: ReplicationState = { ...active, killSwitch: { reason: 'demoted', since: 't', by: 'b' } };
    expect(replicationBlock(none, 'send', 'h')).toBeNull();
    expect(replicationBlock(none, 'receive', 'h')).toBeNull();
    expect(replicationBlock(active, 'send', 'h')).toBeNull();
    expect(replicationBlock(passive, 'receive', 'h')).toBeNull();
    expect(replicationBlock(active, 'receive', 'h')).toMatch(/h is active .* never overwritten/);
    expect(replicationBlock(passive, 'send', 'h')).toMatch(/h is passive .* sends nothing.*primary\.lab/);
    expect(replicationBlock(killed, 'send', 'h')).toMatch(
      /replication is switched off on h \(\/etc\/pef\/replication\.disabled since t by b: demoted\)/,
    );
    expect(replicationBlock(killed, 'receive', 'h')).toMatch(
      /set_mode -t h mode=<active\|passive> replication=enabled/,
    );
  });

  it('assertReplicationAllowed throws pef/task-failed naming the task and host, or returns the state', async () => {
    const host = (stdout: string) => ({ target: { name: 'replica.lab' }, read: async () => ({ stdout }) });
    const blocked = assertReplicationAllowed(
      host(`--- pef mode\n${modeText}--- pef kill-switch\n${switchText}`),
      'receive',
      'restore_db',
    );
    await expect(blocked).rejects.toBeInstanceOf(PefError);
    await expect(blocked).rejects.toThrow(
      /^restore_db refused: replication is switched off on replica\.lab .* Nothing was changed\.$/,
    );
    await expect(
      assertReplicationAllowed(host(`--- pef mode\n${modeText}`), 'receive', 'restore_db'),
    ).resolves.toMatchObject({ mode: { mode: 'passive' } });
  });
});
