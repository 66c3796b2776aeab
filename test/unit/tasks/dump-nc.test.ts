/**
 * dump_nc against a model of a PE primary (its classifier, the archive directory), answering the
 * commands the exported builders spell (classifier-client.ts, src/host/archive.ts): an archive
 * only when the classification changed, the hostname transform applied, the kill-switch
 * respected, and noop listing the writes without running them.
 */
import { describe, expect, it } from '@jest/globals';
import {
  archiveStateCommand,
  archiveWriteCommand,
  linkLatestCommand,
  parseChecksumFile,
  removeFilesCommand,
} from '../../../src/host/archive.js';
import { DISCOVER_SCRIPT, followUpScript, parseDiscovery } from '../../../src/host/discover.js';
import {
  classifierBase,
  classifierGetCommand,
  clientTlsPaths,
  parseHttpReply,
} from '../../../src/puppet/classifier-client.js';
import { KILL_SWITCH_FILE, renderKillSwitch, replicationStateCommand } from '../../../src/puppet/mode.js';
import {
  LATEST_ARCHIVE,
  NC_DEFAULTS,
  type NodeGroup,
  parseGroups,
  renderArchive,
  sha256Hex,
} from '../../../src/puppet/node-classification.js';
import { runTask } from '../../../src/task/run-task.js';
import type { CommandOptions } from '../../../src/transport/transport.js';
import { shQuote } from '../../../src/util/shell-quote.js';
import { dumpNc } from '../../../tasks/dump-nc.js';
import { answer, fakePuppetHost } from '../../helpers/fake-puppet-host.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

const PRIMARY = 'primary.lab';
const REPLICA = 'replica.lab';
const SSLDIR = '/etc/puppetlabs/puppet/ssl';
const DIR = NC_DEFAULTS.dumpDir;
const ROOT = '00000000-0000-4000-8000-000000000000';
const discoveryOf = (certname: string) =>
  ['flavor=pe', 'service_manager=lab', `config.certname=${certname}`, `config.ssldir=${SSLDIR}`].join('\n') + '\n';
const TLS = clientTlsPaths(SSLDIR, PRIMARY);
const BASE = classifierBase(PRIMARY, NC_DEFAULTS.port);

/** The reply text classifierGetCommand prints: the body, then the status line parseHttpReply reads. */
function httpReply(body: string, status: number): string {
  const text = `${body}\npef-http-status:${status}\n`;
  expect(parseHttpReply(text)).toEqual({ status, body });
  return text;
}

function classification(): NodeGroup[] {
  return [
    { id: ROOT, name: 'All Nodes', parent: ROOT, rule: ['and', ['~', 'name', '.*']], classes: {}, variables: {} },
    {
      id: '00000000-0000-4000-8000-000000000001',
      name: 'PE Infrastructure',
      parent: ROOT,
      rule: ['or', ['=', 'name', PRIMARY], ['~', 'name', 'primary\\.lab']],
      classes: {
        puppet_enterprise: {
          puppet_master_host: PRIMARY,
          database_host: `db.${PRIMARY}`,
          url: `https://${PRIMARY}:8140/`,
        },
      },
      variables: { server: PRIMARY },
    },
  ];
}

interface Primary {
  groups: NodeGroup[];
  files: Map<string, string>;
  latest: string | null;
  killSwitch: boolean;
}

function primary(init: Partial<Primary> = {}): Primary {
  return { groups: classification(), files: new Map(), latest: null, killSwitch: false, ...init };
}

function handler(p: Primary) {
  const discovery = discoveryOf(PRIMARY);
  const followUp = followUpScript(parseDiscovery(discovery));
  return (target: string, command: string, options: CommandOptions) => {
    if (target !== PRIMARY)
      return { exitCode: 127, stderr: `fake ${target}: unexpected command ${command.slice(0, 120)}` };
    if (command === DISCOVER_SCRIPT) return { stdout: discovery };
    if (command === followUp) return { stdout: 'has_ca=true\n' };
    if (command === classifierGetCommand(TLS, BASE)) return { stdout: httpReply(JSON.stringify(p.groups), 200) };
    if (command === archiveStateCommand(DIR, LATEST_ARCHIVE))
      return { stdout: `${[...p.files.keys()].join('\n')}\npef-latest->${p.latest ?? ''}\n` };
    for (const [name, text] of p.files) if (command === `cat -- ${shQuote(`${DIR}/${name}`)}`) return { stdout: text };
    const written = /\.(nc_dump\.\d{8}T\d{9}Z\.json)\.partial/.exec(command)?.[1];
    if (written && command === archiveWriteCommand({ dir: DIR, name: written, latest: LATEST_ARCHIVE })) {
      const text = options.stdin ?? '';
      p.files.set(written, text).set(`${written}.sha256`, `${sha256Hex(text)}  ${written}\n`);
      p.latest = written;
      return { stdout: `size=${text.length}\nsha256=${sha256Hex(text)}\n` };
    }
    for (const name of p.files.keys())
      if (command === linkLatestCommand(DIR, name, LATEST_ARCHIVE)) {
        p.latest = name;
        return {};
      }
    const rm = removeFilesCommand(DIR, []).trimEnd();
    if (command.startsWith(rm)) {
      const names = command.slice(rm.length).trim().split(' ');
      if (command === removeFilesCommand(DIR, names)) {
        for (const n of names) p.files.delete(n);
        return {};
      }
    }
    return { exitCode: 127, stderr: `fake primary: unexpected command ${command.slice(0, 120)}` };
  };
}

async function dump(p: Primary, params: Record<string, unknown>, noop = false, killOnReplica = false) {
  const targets = [fakeTarget(PRIMARY), fakeTarget(REPLICA)];
  const base = handler(p);
  const h = (target: string, command: string, options: CommandOptions) => {
    if (command === replicationStateCommand()) {
      // The mode and kill-switch as fake-puppet-host models them.
      const host = fakePuppetHost();
      if ((target === PRIMARY && p.killSwitch) || (target === REPLICA && killOnReplica))
        host.files.set(KILL_SWITCH_FILE, renderKillSwitch({ reason: 'split brain', since: '2025-01-01', by: 'test' }));
      return answer(host, command, options)!;
    }
    return base(target, command, options);
  };
  const fake = fakeRuntime(targets, h, { noop });
  const set = await runTask(fake.runtime, dumpNc, [targets[0]!], params);
  return { result: set.results[0]!, sent: fake.sent.map((s) => s.command) };
}

const archives = (p: Primary) => [...p.files.keys()].filter((n) => /^nc_dump\.\d{8}T\d{9}Z\.json$/.test(n));

describe('dump_nc (model of a PE primary)', () => {
  it('writes a checksummed archive with the primary rewritten to the replica, and nothing on a second run', async () => {
    const p = primary();
    const first = await dump(p, { to: REPLICA });
    expect(first.result.error).toBeUndefined();
    expect(first.result.changed).toBe(true);
    const [name] = archives(p);
    expect(name).toBeDefined();
    expect(p.latest).toBe(name);
    const text = p.files.get(name!)!;
    expect(parseChecksumFile(p.files.get(`${name}.sha256`)!)).toBe(sha256Hex(text));
    const parsed = parseGroups(text);
    expect(parsed.ok).toBe(true);
    const infra = parsed.ok ? parsed.groups[1]! : undefined;
    expect(infra?.rule).toEqual(['or', ['=', 'name', REPLICA], ['~', 'name', 'replica\\.lab']]);
    expect(infra?.classes).toEqual({
      puppet_enterprise: {
        puppet_master_host: REPLICA,
        database_host: `db.${PRIMARY}`,
        url: `https://${REPLICA}:8140/`,
      },
    });
    expect(infra?.variables).toEqual({ server: REPLICA });
    expect(first.result.value).toMatchObject({
      archive: `${DIR}/${name}`,
      sha256: sha256Hex(text),
      groups: 2,
      written: true,
      replaced: { from: PRIMARY, to: REPLICA, count: 5 },
    });

    const second = await dump(p, { to: REPLICA });
    expect(second.result.error).toBeUndefined();
    expect(second.result.changed).toBe(false);
    expect(second.result.value).toMatchObject({ archive: `${DIR}/${name}`, written: false });
    expect(archives(p)).toEqual([name]);
    expect(second.sent.some((c) => c.includes('.partial'))).toBe(false);
  });

  it('a changed classification gets a new archive, and keep=1 prunes the older one', async () => {
    const old = 'nc_dump.20250101T000000000Z.json';
    const oldText = renderArchive(classification().slice(0, 1));
    const p = primary({
      files: new Map([
        [old, oldText],
        [`${old}.sha256`, `${sha256Hex(oldText)}  ${old}\n`],
      ]),
      latest: old,
    });
    const { result } = await dump(p, { to: REPLICA, keep: 1 });
    expect(result.error).toBeUndefined();
    expect(result.changed).toBe(true);
    const [name] = archives(p);
    expect(name).not.toBe(old);
    expect([...p.files.keys()].sort()).toEqual([name, `${name}.sha256`].sort());
    expect(result.value).toMatchObject({ written: true, pruned: [old] });
  });

  it('refuses to ship while either end has the kill-switch on, before reading or writing anything', async () => {
    const p = primary({ killSwitch: true });
    const { result, sent } = await dump(p, { receiver: REPLICA });
    expect(result.status).toBe('failure');
    expect(result.error?.msg).toMatch(/dump_nc refused: .*Nothing was changed\./s);
    expect(sent).not.toContain(classifierGetCommand(TLS, BASE));
    expect(p.files.size).toBe(0);

    const onReplica = await dump(primary(), { receiver: REPLICA }, false, true);
    expect(onReplica.result.error?.msg).toMatch(/dump_nc refused: .*Nothing was changed\./s);
    expect(onReplica.sent).not.toContain(classifierGetCommand(TLS, BASE));
  });

  it('in noop lists the archive write without running it', async () => {
    const p = primary();
    const { result, sent } = await dump(p, { to: REPLICA }, true);
    expect(result.error).toBeUndefined();
    expect(result.changed).toBe(true);
    const wouldRun = result.noop?.wouldRun ?? [];
    const name = /\.(nc_dump\.\d{8}T\d{9}Z\.json)\.partial/.exec(wouldRun.join('\n'))?.[1];
    expect(name).toBeDefined();
    expect(wouldRun).toContain(archiveWriteCommand({ dir: DIR, name: name!, latest: LATEST_ARCHIVE }));
    expect(sent.some((c) => c.includes('.partial'))).toBe(false);
    expect(p.files.size).toBe(0);
  });
});
