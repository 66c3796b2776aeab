/**
 * The status probe's shell text runs in a real shell (read-only: it only reads paths that may be
 * absent here) and its output is read back; puppetdb.conf's broadcast settings are parsed as the
 * terminus has them.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { puppetdbBroadcast } from '../../../src/puppet/puppetdb-conf.js';
import { parseStatusProbe, statusProbeCommand } from '../../../src/replication/status-probe.js';

describe('statusProbeCommand', () => {
  it('is valid sh, with the servers to ask and the CA prefix', () => {
    const command = statusProbeCommand({ servers: ['p.example', 'r.example'], caPrefixLines: 3 });
    expect(command).toContain('https://r.example:8140/status/v1/simple');
    expect(command).toContain('head -n 3 | sha256sum');
    expect(() => execFileSync('sh', ['-n', '-c', command])).not.toThrow();
  });

  it('runs on a host without Puppet and says what it found: the host clock, no mode, no CA', () => {
    const before = Math.floor(Date.now() / 1000);
    const probe = parseStatusProbe(
      execFileSync('sh', ['-c', statusProbeCommand({ servers: [] })], { encoding: 'utf8' }),
    );
    expect(probe.now).toBeGreaterThanOrEqual(before);
    expect(probe.flavor).toBe('oss');
    expect(probe.replication).toEqual({ mode: null, killSwitch: null, epoch: null });
    expect(['present', 'absent']).toContain(probe.stateDir);
    expect(probe.answers).toEqual({});
  });

  it('refuses a server name that is not a host name (it would reach the shell)', () => {
    expect(() => statusProbeCommand({ servers: ['p; rm -rf /'] })).toThrow(/Not a server name/);
  });
});

describe('parseStatusProbe', () => {
  it('reads jobs, refused and unreadable files, answers and the CA', () => {
    const probe = parseStatusProbe(
      [
        '@@pef facts',
        'now=100',
        'state_dir=present',
        '@@pef job sync_ca.state',
        'job=sync_ca',
        'kind=ca',
        'role=send',
        'result=success',
        '@@pef refused link.state',
        '@@pef job gone.state',
        '@@pef unreadable gone.state',
        '',
        '@@pef facts',
        'answer.p=running http=200',
        'answer.r=starting http=503',
        'ca.count=2',
        '@@pef mode',
        '--- pef mode',
        'mode=passive',
      ].join('\n'),
    );
    expect(probe.jobs.map((j) => [j.file, j.state?.job ?? null, j.problem])).toEqual([
      ['sync_ca.state', 'sync_ca', null],
      ['link.state', null, 'a symbolic link or not a regular file, refused'],
      ['gone.state', null, 'unreadable'],
    ]);
    expect(probe.answers).toEqual({
      p: { answers: true, detail: 'running http=200' },
      r: { answers: false, detail: 'starting http=503' },
    });
    expect(probe.ca).toEqual({ serial: null, count: 2, digest: null, prefixDigest: null });
    expect(probe.replication.mode?.mode).toBe('passive');
  });
});

describe('puppetdbBroadcast', () => {
  it("reads [main]'s server_urls and command_broadcast, ignoring other sections and comments", () => {
    const text =
      '[main]\nserver_urls = https://p:8081, https://r:8081 # both\ncommand_broadcast = true\n[other]\ncommand_broadcast = false\n';
    expect(puppetdbBroadcast(text)).toEqual({
      serverUrls: ['https://p:8081', 'https://r:8081'],
      commandBroadcast: true,
    });
    expect(puppetdbBroadcast('[main]\nserver_urls = https://p:8081\n')).toEqual({
      serverUrls: ['https://p:8081'],
      commandBroadcast: false,
    });
  });
});
