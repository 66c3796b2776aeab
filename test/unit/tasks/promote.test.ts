import { describe, expect, it } from '@jest/globals';
import { PefError } from '../../../src/errors/pef-error.js';
import { serviceCommand } from '../../../src/host/services.js';
import { NonInteractivePrompter, type Prompter } from '../../../src/interaction/prompter.js';
import { EPOCH_FILE, parseEpochFile } from '../../../src/puppet/epoch.js';
import { KILL_SWITCH_FILE, MODE_FILE, parseModeFile } from '../../../src/puppet/mode.js';
import { runTask } from '../../../src/task/run-task.js';
import { promote } from '../../../tasks/promote.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';
import {
  epochFileText as epochFile,
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

  it('refuses with pef/split-brain-guard (exit 2) while the peer is active, writing neither mode nor epoch', async () => {
    const primary = fakePuppetHost({
      files: new Map([
        [MODE_FILE, modeFile('active', 'replica')],
        [EPOCH_FILE, epochFile(4)],
      ]),
    });
    const replica = fakePuppetHost();
    const r = await run(promote, world(primary, replica), 'replica', { peer: 'primary' });
    expect(r.result.error).toMatchObject({ kind: 'pef/split-brain-guard' });
    expect(new PefError('pef/split-brain-guard', '').exitCode).toBe(2);
    expect(r.result.error?.msg).toMatch(/force=true confirm=primary\. Nothing was changed\.$/);
    expect(replica.files.has(MODE_FILE)).toBe(false);
    expect(replica.files.has(EPOCH_FILE)).toBe(false);
    expect(r.sent.some((c) => c.includes('mkdir -p'))).toBe(false);
  });

  it('with force, needs confirm naming the peer: refused without it (no terminal) or with another name', async () => {
    const primary = fakePuppetHost({ files: new Map([[MODE_FILE, modeFile('active', 'replica')]]) });
    const replica = fakePuppetHost();
    const bare = await run(promote, world(primary, replica), 'replica', { peer: 'primary', force: true });
    expect(bare.result.error).toMatchObject({ kind: 'pef/non-interactive' });
    expect(bare.result.error?.msg).toMatch(/pass confirm=primary instead/);
    const wrong = await run(promote, world(primary, replica), 'replica', {
      peer: 'primary',
      force: true,
      confirm: 'replica',
    });
    expect(wrong.result.error).toMatchObject({ kind: 'pef/split-brain-guard' });
    expect(wrong.result.error?.msg).toMatch(
      /force=true needs confirm=primary .* got "replica"\. Nothing was changed\.$/,
    );
    expect(replica.files.has(MODE_FILE)).toBe(false);
    expect(primary.files.has(KILL_SWITCH_FILE)).toBe(false);
  });

  it('with force and confirm, promotes past the peer epoch and switches the active peer off', async () => {
    const primary = fakePuppetHost({
      files: new Map([
        [MODE_FILE, modeFile('active', 'replica')],
        [EPOCH_FILE, epochFile(4)],
      ]),
    });
    const replica = fakePuppetHost({ files: new Map([[EPOCH_FILE, epochFile(2)]]) });
    const r = await run(promote, world(primary, replica), 'replica', {
      peer: 'primary',
      force: true,
      confirm: 'primary',
    });
    expect(r.result).toMatchObject({ changed: true, value: { mode: 'active', forced: true, epoch: 5 } });
    expect(parseEpochFile(replica.files.get(EPOCH_FILE) ?? '')).toBe(5);
    expect(primary.files.get(KILL_SWITCH_FILE)).toContain('was promoted with force=true');
  });

  it('a confirmation typed at the terminal prompt counts as confirm', async () => {
    const primary = fakePuppetHost({ files: new Map([[MODE_FILE, modeFile('active', 'replica')]]) });
    const replica = fakePuppetHost();
    const asked: string[] = [];
    const prompter = {
      ...new NonInteractivePrompter(),
      interactive: true,
      input: async (q: { message: string; instead: string }) => {
        asked.push(`${q.message} | ${q.instead}`);
        return ' primary ';
      },
    } as unknown as Prompter;
    const targets = [fakeTarget('primary'), fakeTarget('replica')];
    const fake = fakeRuntime(targets, world(primary, replica), { prompter });
    const set = await runTask(fake.runtime, promote, [targets[1]!], { peer: 'primary', force: true });
    expect(set.find('replica')).toMatchObject({ changed: true, value: { forced: true, epoch: 1 } });
    expect(asked).toEqual([expect.stringMatching(/Type primary to go ahead \| confirm=primary$/)]);
  });

  it('a fenced peer does not block; the epoch goes one past it, and a second run changes nothing', async () => {
    const primary = fakePuppetHost({
      files: new Map([
        [MODE_FILE, modeFile('fenced', 'replica')],
        [EPOCH_FILE, epochFile(3)],
      ]),
    });
    const replica = fakePuppetHost({
      files: new Map([
        [MODE_FILE, modeFile('passive', 'primary')],
        [EPOCH_FILE, epochFile(3)],
      ]),
    });
    const first = await run(promote, world(primary, replica), 'replica', { peer: 'primary' });
    expect(first.result).toMatchObject({ changed: true, value: { epoch: 4, forced: false } });
    expect(first.result.value['updated']).toEqual(expect.arrayContaining(['epoch 3 -> 4', 'mode passive -> active']));
    const second = await run(promote, world(primary, replica), 'replica', { peer: 'primary' });
    expect(second.result).toMatchObject({ changed: false, value: { epoch: 4 } });
  });

  it("fails closed on an epoch file that does not parse: the peer's is the guard, its own refuses", async () => {
    const primary = fakePuppetHost({
      files: new Map([
        [MODE_FILE, modeFile('passive', 'replica')],
        [EPOCH_FILE, 'epoch=7x\n'],
      ]),
    });
    const replica = fakePuppetHost();
    const peerBad = await run(promote, world(primary, replica), 'replica', { peer: 'primary' });
    expect(peerBad.result.error).toMatchObject({ kind: 'pef/split-brain-guard' });
    expect(peerBad.result.error?.msg).toMatch(/primary's epoch file \(\/etc\/pef\/epoch\) holds no valid epoch/);
    const ownBad = await run(promote, world('down', primary), 'replica', { peer: 'primary' });
    expect(ownBad.result.error).toMatchObject({ kind: 'pef/untrusted-value' });
    expect(primary.files.get(EPOCH_FILE)).toBe('epoch=7x\n');
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
    // The peer is down: its epoch is unknown, this server's goes one up.
    expect(parseEpochFile(replica.files.get(EPOCH_FILE) ?? '')).toBe(1);
  });

  it('fails naming a service the host does not have (status 4) and what it already changed', async () => {
    const replica = fakePuppetHost();
    const r = await run(promote, world('down', replica), 'replica', {
      peer: 'primary',
      services: ['no-such-service'],
    });
    expect(r.result.error?.msg).toMatch(
      /^promote on replica: service no-such-service does not exist here.*Changes made so far: epoch none -> 1, mode active/s,
    );
  });
});

describe('promote points its own tools at itself', () => {
  it('sets the server settings that named the peer to its certname, leaves an alias, and a second run changes nothing', async () => {
    const replica = fakePuppetHost({
      puppetConf: [
        { section: 'main', key: 'server', value: 'primary' },
        { section: 'agent', key: 'ca_server', value: 'primary' },
        { section: 'agent', key: 'report_server', value: 'puppet.example.com' },
      ],
    });
    const first = await run(promote, world('down', replica), 'replica', { peer: 'primary' });
    expect(first.result.error).toBeUndefined();
    expect(first.result.value['updated']).toEqual(
      expect.arrayContaining(['[main] server = host.lab (was primary)', '[agent] ca_server = host.lab (was primary)']),
    );
    expect(replica.puppetConf.map((c) => c.value)).toEqual(['host.lab', 'host.lab', 'puppet.example.com']);
    const again = await run(promote, world('down', replica), 'replica', { peer: 'primary' });
    expect(again.result).toMatchObject({ status: 'success', changed: false });
  });
});
