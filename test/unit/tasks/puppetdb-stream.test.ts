import { describe, expect, it } from '@jest/globals';
import { DISCOVER_SCRIPT, followUpScript, parseDiscovery } from '../../../src/host/discover.js';
import { readFileCommand, writeFileCommand } from '../../../src/host/files.js';
import { serviceCommand } from '../../../src/host/services.js';
import { pqlCommand, PUPPETDB_QUERIES } from '../../../src/puppet/puppetdb-compare.js';
import { hostTlsCommand, parseHostTls } from '../../../src/puppet/replica-servers.js';
import { comparePuppetdbTask } from '../../../tasks/compare-puppetdb.js';
import { configurePuppetdbBroadcast } from '../../../tasks/configure-puppetdb-broadcast.js';
import type { CommandHandler } from '../../helpers/fake-runtime.js';
import { runOn } from '../../helpers/fake-puppet-host.js';

interface Host {
  certname: string;
  files: Map<string, string>;
  puppetserver: boolean;
  reloads: number;
  /** PQL answers by base URL and query; a missing one fails like a refused connection. */
  pql?: Record<string, string>;
}
const CONF = '/etc/puppet/puppetdb.conf';
const TLS = 'hostcert=/ssl/c.pem\nhostprivkey=/ssl/k.pem\nlocalcacert=/ssl/ca.pem\n';
const discovery = (h: Host) =>
  `flavor=oss\nservice_manager=lab\npuppet_bin=/usr/bin/puppet\nconfig.confdir=/etc/puppet\nconfig.certname=${h.certname}\n`;

function handler(hosts: Record<string, Host>): CommandHandler {
  return (target, command, options) => {
    const h = hosts[target]!;
    if (command === DISCOVER_SCRIPT) return { stdout: discovery(h) };
    if (command === followUpScript(parseDiscovery(discovery(h)))) return { stdout: 'has_ca=false\n' };
    if (command === readFileCommand(CONF)) return { stdout: h.files.get(CONF) ?? '' };
    if (command === writeFileCommand(CONF, 'keep') || command === writeFileCommand(CONF, { mode: '644' })) {
      h.files.set(CONF, options.stdin ?? '');
      return {};
    }
    if (command === serviceCommand('lab', 'status', 'puppetserver')) return { exitCode: h.puppetserver ? 0 : 3 };
    if (command === serviceCommand('lab', 'reload', 'puppetserver')) {
      h.reloads++;
      return {};
    }
    if (command === hostTlsCommand('/usr/bin/puppet')) return { stdout: TLS };
    if (command.includes('/status/v1/simple')) return { stdout: 'running' };
    for (const [key, answer] of Object.entries(h.pql ?? {})) {
      const [base = '', query = ''] = key.split(' | ');
      if (command === pqlCommand(parseHostTls(TLS)!, base, query)) return { stdout: answer };
    }
    if (command.startsWith('curl ')) return { exitCode: 7, stderr: 'Failed to connect' };
    return { exitCode: 127, stderr: `unexpected: ${command.slice(0, 100)}` };
  };
}
const host = (certname: string, conf?: string): Host => ({
  certname,
  files: new Map(conf === undefined ? [] : [[CONF, conf]]),
  puppetserver: true,
  reloads: 0,
});

describe('configure_puppetdb_broadcast', () => {
  it('broadcasts from both servers, reloads each once, and changes nothing the second time', async () => {
    const primary = host('primary.lab', '[main]\nserver_urls = https://primary.lab:8081\nsoft_write_failure = false\n');
    const replica = host('replica.lab');
    replica.puppetserver = false;
    const hosts = handler({ primary, replica });
    const first = await runOn(configurePuppetdbBroadcast, hosts, 'primary', { receiver: 'replica' });
    expect(first.result).toMatchObject({ status: 'success', changed: true });
    expect(first.result.value).toMatchObject({ updated: ['primary', 'replica'], replica_puppetdb: 'running' });
    expect(primary.files.get(CONF)).toContain('server_urls = https://primary.lab:8081,https://replica.lab:8081\n');
    expect(primary.files.get(CONF)).toContain('command_broadcast = true\nmin_successful_submissions = 1\n');
    expect(replica.files.get(CONF)).toContain('server_urls = https://replica.lab:8081,https://primary.lab:8081\n');
    // A stopped server reads the file when it starts: no reload.
    expect([primary.reloads, replica.reloads]).toEqual([1, 0]);
    const second = await runOn(configurePuppetdbBroadcast, hosts, 'primary', { receiver: 'replica' });
    expect(second.result).toMatchObject({ status: 'success', changed: false });
    expect(primary.reloads).toBe(1);
  });

  it('in noop writes and reloads nothing', async () => {
    const primary = host('primary.lab', '');
    const replica = host('replica.lab');
    const run = await runOn(
      configurePuppetdbBroadcast,
      handler({ primary, replica }),
      'primary',
      { receiver: 'replica' },
      true,
    );
    expect(run.result).toMatchObject({ status: 'success', changed: true });
    expect(primary.files.get(CONF)).toBe('');
    expect(primary.reloads).toBe(0);
  });

  it('refuses a replica with the primary certname, and a certname that is no certname', async () => {
    const same = await runOn(
      configurePuppetdbBroadcast,
      handler({ primary: host('p.lab'), replica: host('p.lab') }),
      'primary',
      { receiver: 'replica' },
    );
    expect(same.result.error?.msg).toMatch(/same certname p\.lab/);
    const bad = await runOn(
      configurePuppetdbBroadcast,
      handler({ primary: host('p.lab'), replica: host('r.lab:1/x') }),
      'primary',
      { receiver: 'replica' },
    );
    expect(bad.result.error?.kind).toBe('pef/untrusted-value');
    expect(bad.sent.some((c) => c.includes('cat >'))).toBe(false);
  });
});

describe('compare_puppetdb', () => {
  // agent1.lab's latest facts, catalog and report, all produced at `t`.
  const nodes = (t: string) => JSON.stringify([{ certname: 'agent1.lab', producer_timestamp: t }]);
  const pql = (base: string, producedJson: string) => ({
    [`${base} | ${PUPPETDB_QUERIES.nodes}`]: '[{"certname":"agent1.lab"}]',
    [`${base} | ${PUPPETDB_QUERIES.facts}`]: producedJson,
    [`${base} | ${PUPPETDB_QUERIES.catalog}`]: producedJson,
    [`${base} | ${PUPPETDB_QUERIES.report}`]: producedJson,
    [`${base} | ${PUPPETDB_QUERIES.exported}`]: '[{"certname":"agent1.lab","count":1}]',
  });

  it('reports what the replica lacks, read-only', async () => {
    const primary = host('primary.lab');
    primary.pql = {
      ...pql('https://primary.lab:8081', nodes('2026-12-02T18:00:00Z')),
      ...pql('https://replica.lab:8081', nodes('2026-12-02T17:00:00Z')),
    };
    const run = await runOn(comparePuppetdbTask, handler({ primary, replica: host('replica.lab') }), 'primary', {
      receiver: 'replica',
    });
    expect(run.result).toMatchObject({ status: 'success', changed: false });
    expect(run.result.value).toMatchObject({
      missing: [],
      stale: [{ certname: 'agent1.lab', kinds: ['facts', 'catalog', 'report'] }],
      lag: 1,
    });
  });

  it('fails, never reporting lag 0, when the replica PuppetDB does not answer', async () => {
    const primary = host('primary.lab');
    primary.pql = pql('https://primary.lab:8081', nodes('2026-12-02T18:00:00Z'));
    const run = await runOn(comparePuppetdbTask, handler({ primary, replica: host('replica.lab') }), 'primary', {
      receiver: 'replica',
    });
    expect(run.result.status).toBe('failure');
    expect(run.result.error?.msg).toMatch(/PuppetDB at https:\/\/replica\.lab:8081 did not answer \(curl exit 7/);
  });
});
