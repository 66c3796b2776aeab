/**
 * The fence check as the host-side job runs it: the generated shell, executed with sh against
 * files in a temp dir (its /etc/pef paths moved there) and a stand-in for the peer's gate and
 * the service shim, must decide exactly what fenceVerdict decides, for every pair of modes and
 * epochs, and a fence must leave this server fenced, switched off and with its Puppet Server
 * stopped, logging `PEF: fence [WARNING]`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderEpochFile } from '../../../src/puppet/epoch.js';
import { fenceVerdict, type FenceMode, type FenceView } from '../../../src/puppet/fence-verdict.js';
import { parseModeFile, renderModeFile, replicationStateCommand } from '../../../src/puppet/mode.js';
import { peerStateCommand } from '../../../src/puppet/transfer.js';
import { fenceCheckLines, type FenceSettings } from '../../../src/replication/fence-check.js';
import { shQuote } from '../../../src/util/shell-quote.js';

let dir: string;
const transfer = {
  user: 'pef-transfer',
  home: '/var/lib/pef-transfer',
  senderDir: '/etc/pef/transfer',
  host: 'replica.lab',
  port: 22,
};

beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'pef-fence-')));
  mkdirSync(join(dir, 'bin'));
  // The service shim: records what it was asked; `status` answers from a file.
  writeFileSync(
    join(dir, 'bin', 'pef-lab-service'),
    `#!/bin/sh\necho "$1 $2" >> "${dir}/services.log"\nif [ "$1" = status ]; then [ -e "${dir}/running" ]; exit $?; fi\n[ "$1" = stop ] && rm -f "${dir}/running"\nexit 0\n`,
  );
  writeFileSync(join(dir, 'bin', 'logger'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(dir, 'bin', 'pef-lab-service'), 0o755);
  chmodSync(join(dir, 'bin', 'logger'), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One server's files in a fresh `etc/pef` under the temp dir. */
function host(name: string, mode: FenceMode, epoch: number | 'invalid' | null): string {
  // Not under an `etc/pef`: the test moves the script's /etc/pef paths by text replacement.
  const etc = join(dir, `${name}-state`);
  rmSync(etc, { recursive: true, force: true });
  mkdirSync(etc, { recursive: true });
  if (mode !== 'none')
    writeFileSync(join(etc, 'mode'), renderModeFile({ mode, peer: 'x', changedAt: 't', by: 'test' }));
  if (epoch !== null)
    writeFileSync(
      join(etc, 'epoch'),
      epoch === 'invalid' ? 'epoch=x1\n' : renderEpochFile({ epoch, changedAt: 't', by: 'test' }),
    );
  return etc;
}

/** Runs the check on `own` against the peer's state printed by the real probe on `peer` (null: the gate fails). */
function runCheck(own: string, peer: string | null, facts: string | null = null, rawPeer?: string) {
  const settings: FenceSettings = {
    transfer,
    peer: 'replica',
    serviceManager: 'lab',
    serverService: 'puppetserver',
    factsFile: facts,
  };
  const peerCmd =
    rawPeer ??
    (peer === null
      ? 'echo "ssh: connect to host replica.lab port 22: Connection refused" >&2; exit 255'
      : replicationStateCommand().replaceAll('/etc/pef/', `${peer}/`));
  const body = fenceCheckLines('sync_ca', settings)
    .join('\n')
    .replace(shQuote(peerStateCommand(transfer)), shQuote(peerCmd))
    .replaceAll('/etc/pef', own);
  const script = [
    'set -eu',
    `PATH=${dir}/bin:$PATH`,
    'tmp=$(mktemp -d)',
    'fail() { echo "RESULT hold $1"; exit 1; }',
    'record() { echo "RESULT record $1 $3"; }',
    body,
    'echo "RESULT proceed"',
  ].join('\n');
  const out = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  return { out: out.stdout, err: out.stderr };
}

function shellAction(stdout: string): string {
  const line = /^RESULT (.*)$/m.exec(stdout)?.[1] ?? '';
  if (line.startsWith('record skipped fenced:')) return 'fence';
  if (line.startsWith('record skipped this server is fenced')) return 'stay-fenced';
  return line.split(' ')[0] ?? '';
}

describe('the fence check in the job (sh)', () => {
  const modes: FenceMode[] = ['none', 'active', 'passive', 'fenced'];
  const cases: [FenceMode, number | null, FenceMode, number | 'invalid' | null | 'unknown'][] = [];
  // Every pair of modes with the peer behind and ahead (own epoch 2), equal epochs, no epoch files,
  // and the unknown peer: each rule's arm and each branch of the comparison. (Each case is a few
  // dozen processes; on a loaded machine they cost up to a second.)
  for (const ownMode of modes) {
    for (const peerMode of modes)
      for (const peerEpoch of [1, 3] as const) cases.push([ownMode, 2, peerMode, peerEpoch]);
    cases.push([ownMode, 2, 'active', 2], [ownMode, 2, 'passive', 'invalid'], [ownMode, 2, 'passive', 'unknown']);
    cases.push([ownMode, null, 'active', null], [ownMode, null, 'passive', 1]);
  }

  it(`decides as fenceVerdict does, for all ${cases.length} combinations of modes and epochs`, () => {
    const mismatches: string[] = [];
    for (const [ownMode, ownEpoch, peerMode, peerEpoch] of cases) {
      const own = host('own', ownMode, ownEpoch);
      const peer = peerEpoch === 'unknown' ? null : host('peer', peerMode, peerEpoch);
      fenceLeftovers();
      const ownView: FenceView = { mode: ownMode, epoch: ownEpoch ?? 0 };
      const peerView: FenceView | null = peerEpoch === 'unknown' ? null : { mode: peerMode, epoch: peerEpoch ?? 0 };
      const want = fenceVerdict(ownView, peerView).action;
      const got = shellAction(runCheck(own, peer).out);
      if (got !== want) mismatches.push(`${ownMode}/${ownEpoch} vs ${peerMode}/${peerEpoch}: sh ${got}, ts ${want}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('a fence writes mode fenced, the kill-switch and the fact, stops puppetserver and logs PEF: fence [WARNING]', () => {
    const own = host('own', 'active', 1);
    const peer = host('peer', 'active', 2);
    fenceLeftovers();
    writeFileSync(join(dir, 'running'), '');
    mkdirSync(join(dir, 'facts'), { recursive: true });
    const r = runCheck(own, peer, join(dir, 'facts', 'pef_failover.yaml'));
    expect(r.out).toMatch(
      /^RESULT record skipped fenced: the peer is active with epoch 2, newer than this server's 1/m,
    );
    expect(r.err).toMatch(/^PEF: fence \[WARNING\] the peer is active with epoch 2/m);
    expect(parseModeFile(readFileSync(join(own, 'mode'), 'utf8'))).toMatchObject({ mode: 'fenced', peer: 'replica' });
    expect(readFileSync(join(own, 'replication.disabled'), 'utf8')).toMatch(
      /^reason=fenced by the sync_ca job: replica is active with a newer epoch/m,
    );
    expect(readFileSync(join(dir, 'facts', 'pef_failover.yaml'), 'utf8')).toContain('pef_failover_mode: fenced');
    expect(readFileSync(join(dir, 'services.log'), 'utf8')).toBe('stop puppetserver\n');
    expect(existsSync(join(dir, 'running'))).toBe(false);

    // The next pass finds a fenced server: a Puppet Server started meanwhile (a reboot) is stopped again.
    writeFileSync(join(dir, 'running'), '');
    const again = runCheck(own, null);
    expect(shellAction(again.out)).toBe('stay-fenced');
    expect(again.err).toMatch(
      /PEF: fence \[WARNING\] puppetserver was running on this fenced server; stopped it again/,
    );
    expect(existsSync(join(dir, 'running'))).toBe(false);
  });

  it('an unknown peer holds with the reason, and a peer answering something else is unknown', () => {
    const own = host('own', 'active', 1);
    expect(runCheck(own, null).out).toMatch(
      /^RESULT hold fence check: the peer's mode and epoch could not be read.*Connection refused/m,
    );
    // rrsync's refusal, e.g. from a receiver whose setup_transfer predates the gate.
    const refusal = runCheck(own, null, null, 'echo "rrsync error: invalid rsync-command syntax or options"');
    expect(refusal.out).toMatch(
      /^RESULT hold fence check: .*could not be read; .* \(replica\.lab answered something else; run setup_transfer again\)$/m,
    );
  });
});

function fenceLeftovers(): void {
  rmSync(join(dir, 'services.log'), { force: true });
  rmSync(join(dir, 'running'), { force: true });
}
