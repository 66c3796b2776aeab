/**
 * restore_nc against a model of a PE replica (its classifier, the shipped archives, the backup
 * directory), answering the commands the exported builders spell (classifier-client.ts,
 * src/host/archive.ts): a damaged archive refused with nothing changed, an equal classifier left
 * alone, the import POSTed with the archive's bytes and checked for 204, and read back after.
 */
import { describe, expect, it } from '@jest/globals';
import { archiveStateCommand, archiveWriteCommand, parseChecksumFile } from '../../../src/host/archive.js';
import { DISCOVER_SCRIPT, followUpScript, parseDiscovery } from '../../../src/host/discover.js';
import {
  classifierBase,
  classifierGetCommand,
  classifierImportCommand,
  clientTlsPaths,
  parseHttpReply,
} from '../../../src/puppet/classifier-client.js';
import { KILL_SWITCH_FILE, renderKillSwitch, replicationStateCommand } from '../../../src/puppet/mode.js';
import { transformGroups } from '../../../src/puppet/nc-transform.js';
import {
  NC_DEFAULTS,
  type NodeGroup,
  parseGroups,
  renderArchive,
  sha256Hex,
  SHIPPED_NC_DIR,
} from '../../../src/puppet/node-classification.js';
import { runTask } from '../../../src/task/run-task.js';
import type { CommandOptions } from '../../../src/transport/transport.js';
import { shQuote } from '../../../src/util/shell-quote.js';
import { restoreNc } from '../../../tasks/restore-nc.js';
import { answer, fakePuppetHost } from '../../helpers/fake-puppet-host.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

const HOST = 'replica.lab';
const SSLDIR = '/etc/puppetlabs/puppet/ssl';
const DIR = SHIPPED_NC_DIR;
const BACKUPS = NC_DEFAULTS.backupDir;
const ARCHIVE = 'nc_dump.20250102T000000000Z.json';
const ROOT = '00000000-0000-4000-8000-000000000000';
const DISCOVERY = ['flavor=pe', 'service_manager=lab', `config.certname=${HOST}`, `config.ssldir=${SSLDIR}`].join('\n');
const TLS = clientTlsPaths(SSLDIR, HOST);
const BASE = classifierBase(HOST, NC_DEFAULTS.port);

/** What the curl commands print: the body, then the status line parseHttpReply reads. */
function httpReply(body: string, status: number): string {
  const text = `${body}\npef-http-status:${status}\n`;
  expect(parseHttpReply(text)).toEqual({ status, body });
  return text;
}

/** A classification whose PE Infrastructure group names `server`. */
function classification(server: string): NodeGroup[] {
  return [
    { id: ROOT, name: 'All Nodes', parent: ROOT, rule: ['and', ['~', 'name', '.*']], classes: {} },
    {
      id: '00000000-0000-4000-8000-000000000001',
      name: 'PE Infrastructure',
      parent: ROOT,
      rule: ['or', ['=', 'name', server]],
      classes: { puppet_enterprise: { puppet_master_host: server } },
    },
  ];
}
/** The replica's own classification. */
const REPLICA_GROUPS = classification(HOST);
/** The primary's with one group more, rewritten for the replica as dump_nc ships it. */
const WANTED: NodeGroup[] = transformGroups(
  [
    ...classification('primary.lab'),
    {
      id: '00000000-0000-4000-8000-000000000002',
      name: 'Web servers',
      parent: ROOT,
      rule: ['~', 'name', '^web'],
      classes: { nginx: {} },
    },
  ],
  { from: 'primary.lab', to: HOST },
).groups;

interface Replica {
  groups: NodeGroup[];
  files: Map<string, string>;
  backups: Map<string, string>;
  /** What import-hierarchy answers; 204 takes the body. */
  importStatus: number;
  /** When true, a 204 import is not what a later GET returns (someone else changed it). */
  importLost: boolean;
  killSwitch: boolean;
}

function replica(init: Partial<Replica> = {}): Replica {
  const text = renderArchive(WANTED);
  return {
    groups: REPLICA_GROUPS,
    files: new Map([
      [ARCHIVE, text],
      [`${ARCHIVE}.sha256`, `${sha256Hex(text)}  ${ARCHIVE}\n`],
    ]),
    backups: new Map(),
    importStatus: 204,
    importLost: false,
    killSwitch: false,
    ...init,
  };
}

function handler(r: Replica) {
  const followUp = followUpScript(parseDiscovery(DISCOVERY));
  return (_target: string, command: string, options: CommandOptions) => {
    if (command === replicationStateCommand()) {
      const host = fakePuppetHost();
      if (r.killSwitch)
        host.files.set(KILL_SWITCH_FILE, renderKillSwitch({ reason: 'split brain', since: '2025-01-01', by: 'test' }));
      return answer(host, command, options)!;
    }
    if (command === DISCOVER_SCRIPT) return { stdout: DISCOVERY };
    if (command === followUp) return { stdout: 'has_ca=false\n' };
    if (command === archiveStateCommand(DIR)) return { stdout: `${[...r.files.keys()].join('\n')}\npef-latest->\n` };
    if (command === archiveStateCommand(BACKUPS))
      return { stdout: `${[...r.backups.keys()].join('\n')}\npef-latest->\n` };
    for (const [name, text] of r.files) if (command === `cat -- ${shQuote(`${DIR}/${name}`)}`) return { stdout: text };
    if (command === classifierGetCommand(TLS, BASE)) return { stdout: httpReply(JSON.stringify(r.groups), 200) };
    const backup = /\.(nc_before_restore\.\d{8}T\d{9}Z\.json)\.partial/.exec(command)?.[1];
    if (backup && command === archiveWriteCommand({ dir: BACKUPS, name: backup })) {
      const text = options.stdin ?? '';
      r.backups.set(backup, text).set(`${backup}.sha256`, `${sha256Hex(text)}  ${backup}\n`);
      return { stdout: `size=${text.length}\nsha256=${sha256Hex(text)}\n` };
    }
    if (command === classifierImportCommand(TLS, BASE)) {
      if (r.importStatus !== 204)
        return {
          stdout: httpReply(
            '{"kind":"schema-violation","msg":"The group Web servers has an invalid rule"}',
            r.importStatus,
          ),
        };
      const parsed = parseGroups(options.stdin ?? '');
      if (parsed.ok && !r.importLost) r.groups = parsed.groups;
      return { stdout: httpReply('', 204) };
    }
    return { exitCode: 127, stderr: `fake replica: unexpected command ${command.slice(0, 120)}` };
  };
}

async function restore(r: Replica, params: Record<string, unknown> = {}) {
  const fake = fakeRuntime([fakeTarget(HOST)], handler(r));
  const set = await runTask(fake.runtime, restoreNc, [fakeTarget(HOST)], params);
  return { result: set.results[0]!, sent: fake.sent, options: fake.options };
}

const posts = (sent: { command: string }[]) => sent.filter((s) => s.command === classifierImportCommand(TLS, BASE));
const gets = (sent: { command: string }[]) => sent.filter((s) => s.command === classifierGetCommand(TLS, BASE));

describe('restore_nc (model of a PE replica)', () => {
  it("imports the archive's exact bytes, saves the hierarchy it replaced, and reads it back", async () => {
    const r = replica();
    const { result, sent, options } = await restore(r);
    expect(result.error).toBeUndefined();
    expect(result.changed).toBe(true);
    expect(posts(sent)).toHaveLength(1);
    expect(options[sent.findIndex((s) => s.command === classifierImportCommand(TLS, BASE))]?.stdin).toBe(
      r.files.get(ARCHIVE),
    );
    expect(gets(sent)).toHaveLength(2);
    expect(r.groups).toEqual(WANTED);
    expect(result.value).toMatchObject({
      archive: `${DIR}/${ARCHIVE}`,
      groups_added: ['Web servers'],
      groups_removed: [],
      groups_changed: [],
    });
    const [backup] = [...r.backups.keys()].filter((n) => n.endsWith('.json'));
    expect(result.value['backup']).toBe(`${BACKUPS}/${backup}`);
    expect(parseGroups(r.backups.get(backup!)!)).toEqual({ ok: true, groups: REPLICA_GROUPS });
    expect(parseChecksumFile(r.backups.get(`${backup}.sha256`)!)).toBe(sha256Hex(r.backups.get(backup!)!));
  });

  it('reports changed:false and posts nothing when the classifier already holds the archive', async () => {
    const r = replica({ groups: WANTED });
    const { result, sent } = await restore(r);
    expect(result.error).toBeUndefined();
    expect(result.changed).toBe(false);
    expect(posts(sent)).toHaveLength(0);
    expect(r.backups.size).toBe(0);
  });

  it('refuses an archive that fails its checksum, saying the classification is unchanged', async () => {
    const r = replica();
    r.files.set(ARCHIVE, r.files.get(ARCHIVE)!.replace('Web servers', 'Web servars'));
    const { result, sent } = await restore(r);
    expect(result.status).toBe('failure');
    expect(result.error?.msg).toMatch(
      /Checksum mismatch for .*nc_dump\.20250102T000000000Z\.json .*Nothing was changed\./s,
    );
    expect(gets(sent)).toHaveLength(0);
    expect(posts(sent)).toHaveLength(0);
    expect(r.groups).toBe(REPLICA_GROUPS);
  });

  it('fails with the status and an excerpt of the body when import-hierarchy does not answer 204', async () => {
    const r = replica({ importStatus: 400 });
    const { result, sent } = await restore(r);
    expect(result.status).toBe('failure');
    expect(result.error?.msg).toMatch(
      /import-hierarchy on replica\.lab answered HTTP 400 \(204 expected\): .*schema-violation.*invalid rule.*classification is unchanged/s,
    );
    expect(result.error?.details).toMatchObject({ status: 400 });
    expect(gets(sent)).toHaveLength(1);
    expect(r.groups).toBe(REPLICA_GROUPS);
  });

  it('fails when the classifier read back after a 204 still differs from the archive', async () => {
    const r = replica({ importLost: true });
    const { result, sent } = await restore(r);
    expect(result.status).toBe('failure');
    expect(result.error?.msg).toMatch(/answered 204, but the classifier's groups still differ .*added Web servers/s);
    expect(gets(sent)).toHaveLength(2);
  });

  it('refuses while the kill-switch is on, reading nothing else', async () => {
    const r = replica({ killSwitch: true });
    const { result, sent } = await restore(r);
    expect(result.error?.msg).toMatch(/restore_nc refused: .*Nothing was changed\./s);
    expect(sent.map((s) => s.command)).toEqual([replicationStateCommand()]);
  });
});
