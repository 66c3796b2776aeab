/**
 * The NC building blocks: response validation, the hostname transform and its token rule, the
 * order-insensitive comparison, archive naming and retention, the reply parser. The archive
 * and outbox scripts run for real here (sh on the controller, temp dirs).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultHierarchy } from '../../../src/lab/pe-standins/default-hierarchy.js';
import {
  archiveStateCommand,
  archivesToPrune,
  archiveWriteCommand,
  completeArchives,
  linkLatestCommand,
  outboxCommand,
  parseArchiveState,
  parseChecksumFile,
  removeFilesCommand,
} from '../../../src/host/archive.js';
import {
  bodyExcerpt,
  classifierBase,
  classifierGetCommand,
  classifierImportCommand,
  clientTlsPaths,
  parseHttpReply,
} from '../../../src/puppet/classifier-client.js';
import {
  canonicalGroup,
  describeDiff,
  diffHierarchies,
  replaceHostname,
  sameHierarchy,
  transformGroups,
} from '../../../src/puppet/nc-transform.js';
import {
  ARCHIVE_PREFIX,
  archiveName,
  HOSTNAME,
  LATEST_ARCHIVE,
  ncArchives,
  type NodeGroup,
  parseGroups,
  renderArchive,
  sha256Hex,
  shippedNames,
} from '../../../src/puppet/node-classification.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pef-nc-'));
  dirs.push(d);
  return d;
}
const sh = (script: string, input?: string): string =>
  execFileSync('sh', ['-c', script], { encoding: 'utf8', ...(input === undefined ? {} : { input }) });

const R = { from: 'primary.lab', to: 'replica.lab' };
const group = (id: string, name: string, parent: string, rest: Partial<NodeGroup> = {}): NodeGroup => ({
  id,
  name,
  parent,
  rule: null,
  classes: {},
  variables: {},
  ...rest,
});

describe('parseGroups', () => {
  it('accepts the seeded PE hierarchy and keeps keys it does not know', () => {
    const withExtra = defaultHierarchy('primary.lab').map((g, i) => ({ ...g, serial_number: i }));
    const parsed = parseGroups(JSON.stringify(withExtra));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.groups).toHaveLength(6);
      expect(parsed.groups[1]).toMatchObject({ name: 'PE Infrastructure', serial_number: 1 });
    }
  });

  it.each([
    ['[{', /not JSON/],
    ['{"id":"x"}', /a JSON object, not an array/],
    ['null', /a JSON null/],
    ['[]', /empty array/],
    ['[{"id":"a","name":"A","parent":"a"}]', /group 0 \("A"\) is not a node group: classes/],
    ['[{"id":"a","name":"A","parent":"a","classes":{},"rule":"x"}]', /rule/],
    ['[{"id":"a","name":"A","parent":"a","classes":{"c":[1]}}]', /classes\.c/],
    [
      '[{"id":"a","name":"A","parent":"a","classes":{}},{"id":"a","name":"B","parent":"a","classes":{}}]',
      /group id a appears twice/,
    ],
  ])('refuses %s', (text, problem) => {
    const parsed = parseGroups(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });
});

describe('replaceHostname', () => {
  it.each([
    ['primary.lab', 'replica.lab', 1],
    ['primary.lab:8140', 'replica.lab:8140', 1],
    ['https://primary.lab:4433/x', 'https://replica.lab:4433/x', 1],
    ['primary.lab,primary.lab', 'replica.lab,replica.lab', 2],
    ['the primary is primary.lab.', 'the primary is replica.lab.', 1],
    ['PRIMARY.LAB', 'replica.lab', 1],
    ['^primary\\.lab$', '^replica\\.lab$', 1],
    // Other hosts that merely contain the name.
    ['primary.lab.example', 'primary.lab.example', 0],
    ['primary.lab.example:8140', 'primary.lab.example:8140', 0],
    ['db.primary.lab', 'db.primary.lab', 0],
    ['my-primary.lab', 'my-primary.lab', 0],
    ['primary.lab-2', 'primary.lab-2', 0],
    ['primary.lab_b', 'primary.lab_b', 0],
    ['primary\\.lab\\.example', 'primary\\.lab\\.example', 0],
    ['primaryxlab', 'primaryxlab', 0],
  ])('%s → %s', (input, output, count) => {
    expect(replaceHostname(input, R)).toEqual({ text: output, count });
  });

  it('writes a replacement with $ signs literally', () => {
    expect(replaceHostname('a primary.lab', { from: 'primary.lab', to: 'x$1.lab' }).text).toBe('a x$1.lab');
  });
});

describe('transformGroups', () => {
  it('rewrites rules, class parameters, variables and config data, never keys, names or descriptions', () => {
    const groups = [
      group('r', 'All Nodes', 'r', { rule: ['and', ['~', 'name', '.*']] }),
      group('m', 'PE Master primary.lab', 'r', {
        description: 'runs on primary.lab',
        rule: ['or', ['=', 'name', 'primary.lab'], ['~', 'name', '^primary\\.lab$'], ['=', ['fact', 'port'], 8140]],
        classes: {
          'primary.lab::role': {
            server: 'primary.lab:8140',
            list: ['primary.lab', 'primary.lab.example'],
            nested: { url: 'https://primary.lab/' },
            n: 3,
            on: true,
            none: null,
          },
        },
        variables: { primary_host: 'primary.lab' },
        config_data: { 'puppet_enterprise::profile::agent': { server_list: ['primary.lab:8140'] } },
      }),
    ];
    const before = JSON.stringify(groups);
    const { groups: out, count } = transformGroups(groups, R);
    expect(JSON.stringify(groups)).toBe(before); // the input is not modified
    expect(count).toBe(7);
    const m = out[1]!;
    expect(m.name).toBe('PE Master primary.lab');
    expect(m.description).toBe('runs on primary.lab');
    expect(m.rule).toEqual([
      'or',
      ['=', 'name', 'replica.lab'],
      ['~', 'name', '^replica\\.lab$'],
      ['=', ['fact', 'port'], 8140],
    ]);
    expect(m.classes).toEqual({
      'primary.lab::role': {
        server: 'replica.lab:8140',
        list: ['replica.lab', 'primary.lab.example'],
        nested: { url: 'https://replica.lab/' },
        n: 3,
        on: true,
        none: null,
      },
    });
    expect(m.variables).toEqual({ primary_host: 'replica.lab' });
    expect(m.config_data).toEqual({ 'puppet_enterprise::profile::agent': { server_list: ['replica.lab:8140'] } });
    expect(out[0]).toEqual(groups[0]);
  });

  it('leaves no trace of the primary in the seeded PE hierarchy', () => {
    const { groups, count } = transformGroups(defaultHierarchy('primary.lab'), R);
    expect(count).toBeGreaterThan(5);
    expect(JSON.stringify(groups)).not.toContain('primary.lab');
    expect(groups).toEqual(defaultHierarchy('replica.lab'));
  });
});

describe('diffHierarchies', () => {
  const seed: NodeGroup[] = defaultHierarchy('replica.lab');

  it('ignores group order, key order and bookkeeping fields', () => {
    const shuffled = [...seed]
      .reverse()
      .map((g) => ({ serial_number: 7, ...Object.fromEntries(Object.entries(g).reverse()) }) as unknown as NodeGroup);
    const diff = diffHierarchies(seed, shuffled);
    expect(sameHierarchy(diff)).toBe(true);
    expect(describeDiff(diff)).toBe('no difference');
  });

  it('treats absent fields as the API defaults', () => {
    const bare = { id: 'a', name: 'A', parent: 'a', classes: {} } as NodeGroup;
    expect(canonicalGroup(bare)).toBe(
      canonicalGroup({
        ...bare,
        rule: null,
        variables: {},
        config_data: {},
        description: '',
        environment: 'production',
        environment_trumps: false,
      }),
    );
  });

  it('names added, removed and changed groups; array order counts', () => {
    const changed: NodeGroup[] = seed
      .map((g) => (g.name === 'PE Master' ? { ...g, rule: ['or', ['=', 'name', 'other.lab']] } : g))
      .filter((g) => g.name !== 'PE PuppetDB');
    changed.push(group('new', 'New', seed[0]!.id));
    const diff = diffHierarchies(seed, changed);
    expect(diff).toEqual({ added: ['New'], removed: ['PE PuppetDB'], changed: ['PE Master'] });
    expect(describeDiff(diff)).toBe('added New; removed PE PuppetDB; changed PE Master');
    const agent = seed.find((g) => g.name === 'PE Infrastructure Agent')!;
    const swapped = {
      ...agent,
      classes: { 'puppet_enterprise::profile::agent': { server_list: ['b:8140', 'a:8140'] } },
    };
    const original = {
      ...agent,
      classes: { 'puppet_enterprise::profile::agent': { server_list: ['a:8140', 'b:8140'] } },
    };
    expect(diffHierarchies([original], [swapped]).changed).toEqual(['PE Infrastructure Agent']);
  });
});

describe('archives', () => {
  const a1 = archiveName(ARCHIVE_PREFIX.dump, '20250101T000000000Z');
  const a2 = archiveName(ARCHIVE_PREFIX.dump, '20250102T000000000Z');
  const a3 = archiveName(ARCHIVE_PREFIX.dump, '20250103T000000000Z');
  const a4 = archiveName(ARCHIVE_PREFIX.dump, '20250104T000000000Z');

  it('names archives by prefix and UTC stamp', () => {
    expect(a1).toBe('nc_dump.20250101T000000000Z.json');
    expect(archiveName(ARCHIVE_PREFIX.backup, '20250101T000000000Z')).toBe(
      'nc_before_restore.20250101T000000000Z.json',
    );
  });

  it('counts only archives with their .sha256, newest first, and ignores other files', () => {
    const names = [
      a1,
      `${a1}.sha256`,
      a3,
      `${a3}.sha256`,
      a4,
      LATEST_ARCHIVE,
      '.outbox',
      'nc_before_restore.20250105T000000000Z.json',
      'notes.txt',
      `.${a4}.partial`,
    ];
    expect(completeArchives(names, ncArchives(ARCHIVE_PREFIX.dump))).toEqual([a3, a1]);
    expect(completeArchives([], ncArchives(ARCHIVE_PREFIX.dump))).toEqual([]);
  });

  it('prunes beyond keep, with checksums, but never a newer incomplete archive', () => {
    const names = [a1, `${a1}.sha256`, a2, a3, `${a3}.sha256`, a4, LATEST_ARCHIVE];
    expect(archivesToPrune(names, ncArchives(ARCHIVE_PREFIX.dump), 1)).toEqual([a1, `${a1}.sha256`, a2]);
    expect(archivesToPrune(names, ncArchives(ARCHIVE_PREFIX.dump), 2)).toEqual([a2]);
    expect(archivesToPrune(names, ncArchives(ARCHIVE_PREFIX.dump), 10)).toEqual([a2]);
    expect(archivesToPrune([a1, `${a1}.sha256`], ncArchives(ARCHIVE_PREFIX.dump), 1)).toEqual([]);
    expect(archivesToPrune([a1], ncArchives(ARCHIVE_PREFIX.dump), 1)).toEqual([]);
    expect(archivesToPrune([a1, `${a1}.sha256`, a2, `${a2}.sha256`], ncArchives(ARCHIVE_PREFIX.backup), 1)).toEqual([]);
  });

  it('reads checksum files', () => {
    const sum = sha256Hex('x');
    expect(parseChecksumFile(`${sum.toUpperCase()}  ${a1}\n`)).toBe(sum);
    expect(parseChecksumFile('garbage')).toBeNull();
    expect(parseChecksumFile('')).toBeNull();
  });

  it('writes an archive atomically with its checksum and latest link, lists it, and ships an outbox of exactly the newest', () => {
    const dir = join(tempDir(), 'nc dumps');
    expect(parseArchiveState(sh(archiveStateCommand(dir, LATEST_ARCHIVE)))).toEqual({ names: [], latest: null });
    const content = renderArchive(defaultHierarchy('replica.lab'));
    expect(content.endsWith(']\n')).toBe(true);
    const out = sh(archiveWriteCommand({ dir: dir, name: a1, latest: LATEST_ARCHIVE }), content);
    expect(out.trim().split('\n').pop()).toBe(`sha256=${sha256Hex(content)}`);
    expect(readFileSync(join(dir, a1), 'utf8')).toBe(content);
    expect(sh(`cd '${dir}' && sha256sum -c ${a1}.sha256`)).toContain(`${a1}: OK`);
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    expect((statSync(join(dir, a1)).mode & 0o777).toString(8)).toBe('600');
    expect(readlinkSync(join(dir, LATEST_ARCHIVE))).toBe(a1);

    sh(archiveWriteCommand({ dir: dir, name: a2, latest: LATEST_ARCHIVE }), '[]\n');
    const state = parseArchiveState(sh(archiveStateCommand(dir, LATEST_ARCHIVE)));
    expect(state.latest).toBe(a2);
    expect(state.names.sort()).toEqual([a1, `${a1}.sha256`, a2, `${a2}.sha256`, LATEST_ARCHIVE].sort());
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);

    sh(linkLatestCommand(dir, a1, LATEST_ARCHIVE));
    expect(readlinkSync(join(dir, LATEST_ARCHIVE))).toBe(a1);

    sh(`mkdir -p '${dir}/.outbox' && touch '${dir}/.outbox/old.json'`);
    sh(outboxCommand(dir, a2, `${dir}/.outbox`, { latest: LATEST_ARCHIVE }));
    const box = join(dir, '.outbox');
    expect(readdirSync(box).sort()).toEqual(shippedNames(a2));
    expect(lstatSync(join(box, LATEST_ARCHIVE)).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(box, LATEST_ARCHIVE))).toBe(a2);
    expect(statSync(join(box, a2)).ino).toBe(statSync(join(dir, a2)).ino);

    sh(removeFilesCommand(dir, [a1, `${a1}.sha256`]));
    expect(completeArchives(readdirSync(dir), ncArchives(ARCHIVE_PREFIX.dump))).toEqual([a2]);
  });

  it('a write that fails leaves no archive and no temp file', () => {
    const dir = tempDir();
    expect(() =>
      sh(`${archiveWriteCommand({ dir: dir, name: a1 }).replace('cat > "$tmp"', 'cat > "$tmp"; false')}`, '[]'),
    ).toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('classifier commands', () => {
  const tls = clientTlsPaths('/etc/puppetlabs/puppet/ssl', 'replica.lab');
  const base = classifierBase('replica.lab', 4433);

  it('uses the host certificate by path only', () => {
    expect(tls).toEqual({
      cert: '/etc/puppetlabs/puppet/ssl/certs/replica.lab.pem',
      key: '/etc/puppetlabs/puppet/ssl/private_keys/replica.lab.pem',
      cacert: '/etc/puppetlabs/puppet/ssl/certs/ca.pem',
    });
    expect(classifierGetCommand(tls, base)).toBe(
      "PATH=/opt/puppetlabs/puppet/bin:$PATH curl -sS --connect-timeout 10 --max-time 300 --cert /etc/puppetlabs/puppet/ssl/certs/replica.lab.pem --key /etc/puppetlabs/puppet/ssl/private_keys/replica.lab.pem --cacert /etc/puppetlabs/puppet/ssl/certs/ca.pem -H 'Accept: application/json' https://replica.lab:4433/classifier-api/v1/groups -w '\\npef-http-status:%{http_code}\\n'",
    );
    expect(classifierImportCommand(tls, base)).toContain(
      "-X POST -H 'Content-Type: application/json' --data-binary @- https://replica.lab:4433/classifier-api/v1/import-hierarchy",
    );
  });

  it('parses the status after the body', () => {
    expect(parseHttpReply('[{"a":1}]\npef-http-status:200\n')).toEqual({ status: 200, body: '[{"a":1}]' });
    expect(parseHttpReply('\npef-http-status:204\n')).toEqual({ status: 204, body: '' });
    expect(parseHttpReply('x\npef-http-status:200\n\npef-http-status:400\n')).toEqual({
      status: 400,
      body: 'x\npef-http-status:200\n',
    });
    expect(parseHttpReply('\npef-http-status:000\n')).toEqual({ status: 0, body: '' });
    expect(parseHttpReply('no status')).toBeNull();
  });

  it('shortens bodies for messages', () => {
    expect(bodyExcerpt('{"kind":"x",\n "msg":"y"}')).toBe('{"kind":"x", "msg":"y"}');
    expect(bodyExcerpt('')).toBe('(empty body)');
    expect(bodyExcerpt('a'.repeat(400))).toHaveLength(301);
  });

  it('accepts certnames as host names and refuses words that are not', () => {
    for (const ok of ['primary.lab', 'replica', 'pe-01.example.com', 'a_b.lab']) expect(HOSTNAME.test(ok)).toBe(true);
    for (const bad of ['', '-a.lab', 'a..lab', 'a.lab.', 'a lab', '$(x)']) expect(HOSTNAME.test(bad)).toBe(false);
  });
});
