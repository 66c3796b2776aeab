/**
 * dump_nc and restore_nc against the PE lab (classifier stand-ins on primary.lab and replica.lab,
 * each seeded with its own certname): the primary's classification archived with its host names
 * rewritten, shipped through the transfer channel, kept to N archives, imported on the replica and
 * verified there; idempotency, noop, a damaged archive, a hierarchy the classifier refuses (HTTP
 * 400) and the kill-switch, each leaving the replica's classification as it was. The replica's
 * own hierarchy and the hosts' modes are put back in afterAll.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { labExec } from '../../../src/lab/lab-exec.js';
import { KILL_SWITCH_FILE, MODE_FILE } from '../../../src/puppet/mode.js';
import {
  classifierBase,
  classifierGetCommand,
  classifierImportCommand,
  clientTlsPaths,
} from '../../../src/puppet/classifier-client.js';
import { diffHierarchies, sameHierarchy, transformGroups } from '../../../src/puppet/nc-transform.js';
import {
  LATEST_ARCHIVE,
  NC_DEFAULTS,
  type NodeGroup,
  SHIPPED_NC_DIR,
} from '../../../src/puppet/node-classification.js';
import { dumpNc } from '../../../tasks/dump-nc.js';
import { restoreNc } from '../../../tasks/restore-nc.js';
import { setupTransfer } from '../../../tasks/setup-transfer.js';
import { ensurePeLab, PE_LAB_TIMEOUT_MS, type LabInfo } from '../../helpers/lab.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

const PRIMARY = 'primary.lab';
const REPLICA = 'replica.lab';
const SSL = '/etc/puppetlabs/puppet/ssl';
const DUMPS = NC_DEFAULTS.dumpDir;
const BAD_DIR = '/tmp/pef-nc-e2e-bad';

let info: LabInfo;
let runner: TaskRunner;
let replicaOriginal = '';
let primaryOriginal = '';
const savedState = new Map<string, string>();

const exec = (host: string, script: string, input?: string) =>
  labExec(host, ['sh', '-c', script], { dir: info.dir, timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
const out = async (host: string, script: string) => (await exec(host, script)).stdout.trim();
const lines = async (host: string, script: string) => (await out(host, script)).split('\n').filter(Boolean);

// The classifier as the test sees it: plain curl with the host's own certificate, outside pef.
const certArgs = (host: string) =>
  `--cert ${SSL}/certs/${host}.pem --key ${SSL}/private_keys/${host}.pem --cacert ${SSL}/certs/ca.pem`;
async function groupsText(host: string): Promise<string> {
  const r = await exec(host, `curl -sS --fail ${certArgs(host)} https://${host}:4433/classifier-api/v1/groups`);
  expect(r.exitCode).toBe(0);
  return r.stdout;
}
const groupsOf = async (host: string) => JSON.parse(await groupsText(host)) as NodeGroup[];
async function importInto(host: string, body: string): Promise<void> {
  const r = await exec(
    host,
    `curl -sS --fail ${certArgs(host)} -X POST -H 'Content-Type: application/json' --data-binary @- https://${host}:4433/classifier-api/v1/import-hierarchy`,
    body,
  );
  expect(r.exitCode).toBe(0);
}
const same = (a: readonly NodeGroup[], b: readonly NodeGroup[]) => sameHierarchy(diffHierarchies(a, b));
const WEB_ID = '7e570000-0000-4000-8000-00000000e2e0';
const WEB_GROUP = (root: string): NodeGroup => ({
  id: WEB_ID,
  name: 'pef e2e web',
  parent: root,
  environment: 'production',
  environment_trumps: false,
  description: 'added on primary.lab by the node-classification e2e test',
  rule: ['or', ['=', 'name', 'web1.lab'], ['~', 'name', '^primary\\.lab$']],
  classes: {
    'role::web': {
      server: 'primary.lab:8140',
      mirror: 'primary.lab.example',
      hosts: ['primary.lab', 'db.primary.lab'],
    },
  },
  variables: { pe_master: 'https://primary.lab:8140/' },
  config_data: {},
});

beforeAll(async () => {
  info = await ensurePeLab();
  runner = await taskRunner(info.inventory);
  // Modes left by other suites would refuse replication; keep them to put back afterwards.
  for (const host of [PRIMARY, REPLICA]) {
    for (const file of [MODE_FILE, KILL_SWITCH_FILE]) {
      const r = await exec(host, `cat ${file}`);
      if (r.exitCode === 0) savedState.set(`${host} ${file}`, r.stdout);
    }
    await exec(host, `rm -f ${MODE_FILE} ${KILL_SWITCH_FILE}`);
  }
  replicaOriginal = await groupsText(REPLICA);
  // Each stand-in seeds its own certname, so the replica's seed already equals the primary's
  // rewritten: a group added on the primary (as an operator would) gives restore_nc work to do.
  const seeded = (JSON.parse(await groupsText(PRIMARY)) as NodeGroup[]).filter((g) => g.id !== WEB_ID);
  primaryOriginal = JSON.stringify(seeded);
  await importInto(PRIMARY, JSON.stringify([...seeded, WEB_GROUP(seeded.find((g) => g.parent === g.id)!.id)]));
  await exec(PRIMARY, `rm -rf ${DUMPS}`);
  await exec(REPLICA, `rm -rf ${SHIPPED_NC_DIR} ${NC_DEFAULTS.backupDir} ${BAD_DIR}`);
  const transfer = (await runner.task(setupTransfer, PRIMARY, { receiver: REPLICA })).find(PRIMARY);
  expect(transfer?.error).toBeUndefined();
}, PE_LAB_TIMEOUT_MS);

afterAll(async () => {
  if (info !== undefined) {
    await exec(REPLICA, `rm -f ${KILL_SWITCH_FILE}; rm -rf ${BAD_DIR}`);
    if (replicaOriginal) await importInto(REPLICA, replicaOriginal);
    if (primaryOriginal) await importInto(PRIMARY, primaryOriginal);
    for (const [key, text] of savedState) {
      const [host = '', file = ''] = key.split(' ');
      await exec(host, `mkdir -p /etc/pef && cat > ${file}`, text);
    }
  }
  await runner?.close();
});

describe('dump_nc', () => {
  it('noop reads the classifier, lists the write and the shipping, and writes nothing', async () => {
    const result = (await runner.task(dumpNc, PRIMARY, { receiver: 'replica' }, { noop: true })).find(PRIMARY);
    expect(result?.error).toBeUndefined();
    expect(result?.changed).toBe(true);
    const wouldRun = result?.noop?.wouldRun ?? [];
    expect(wouldRun.some((c) => c.includes(`install -d -m 700 ${DUMPS}`) && c.includes('cat > "$tmp"'))).toBe(true);
    expect(wouldRun.some((c) => c.startsWith('rsync ') && c.includes(`${DUMPS}/.outbox/`))).toBe(true);
    expect(wouldRun.some((c) => c.includes('curl'))).toBe(false); // the GET is a read: it ran
    expect((await exec(PRIMARY, `test -e ${DUMPS}`)).exitCode).not.toBe(0);
    expect((await exec(REPLICA, `test -e ${SHIPPED_NC_DIR}`)).exitCode).not.toBe(0);
  });

  it("archives the primary's classification with its certname rewritten to the replica's, and ships it", async () => {
    const result = (await runner.task(dumpNc, PRIMARY, { receiver: 'replica' })).find(PRIMARY);
    expect(result?.error).toBeUndefined();
    expect(result?.changed).toBe(true);
    const value = result?.value as {
      archive: string;
      sha256: string;
      groups: number;
      replaced: { from: string; to: string; count: number };
      written: boolean;
      shipped: { receiver: string; dir: string; sent: boolean };
    };
    expect(value.replaced.from).toBe(PRIMARY);
    expect(value.replaced.to).toBe(REPLICA);
    expect(value.replaced.count).toBeGreaterThan(5);
    expect(value.archive).toMatch(new RegExp(`^${DUMPS}/nc_dump\\.\\d{8}T\\d{9}Z\\.json$`));
    expect(value.shipped).toEqual({ receiver: REPLICA, dir: SHIPPED_NC_DIR, sent: true });
    const name = value.archive.split('/').pop() ?? '';

    const text = await out(PRIMARY, `cat ${value.archive}`);
    expect(text.replace(/primary\.lab\.example|db\.primary\.lab|added on primary\.lab/g, '')).not.toContain(PRIMARY);
    const archived = JSON.parse(text) as NodeGroup[];
    const master = archived.find((g) => g.name === 'PE Master');
    expect(master?.rule).toEqual(['or', ['=', 'name', REPLICA]]);
    expect(
      archived.find((g) => g.name === 'PE Infrastructure Agent')?.classes['puppet_enterprise::profile::agent'],
    ).toMatchObject({ server_list: [`${REPLICA}:8140`] });
    expect(same(archived, transformGroups(await groupsOf(PRIMARY), { from: PRIMARY, to: REPLICA }).groups)).toBe(true);
    const web = archived.find((g) => g.name === 'pef e2e web');
    expect(web?.rule).toEqual(['or', ['=', 'name', 'web1.lab'], ['~', 'name', '^replica\\.lab$']]);
    expect(web?.classes).toEqual({
      'role::web': {
        server: 'replica.lab:8140',
        mirror: 'primary.lab.example',
        hosts: ['replica.lab', 'db.primary.lab'],
      },
    });
    expect(web?.variables).toEqual({ pe_master: 'https://replica.lab:8140/' });
    expect(web?.description).toBe('added on primary.lab by the node-classification e2e test');
    expect(await out(PRIMARY, `cd ${DUMPS} && sha256sum -c ${name}.sha256`)).toContain(`${name}: OK`);
    expect(await out(PRIMARY, `readlink ${DUMPS}/${LATEST_ARCHIVE}`)).toBe(name);
    expect(await out(PRIMARY, `stat -c '%U %a' ${DUMPS} ${value.archive}`)).toBe('root 700\nroot 600');

    expect((await lines(REPLICA, `ls -1A ${SHIPPED_NC_DIR}`)).sort()).toEqual(
      [LATEST_ARCHIVE, name, `${name}.sha256`].sort(),
    );
    expect(await out(REPLICA, `cd ${SHIPPED_NC_DIR} && sha256sum -c ${name}.sha256`)).toContain(`${name}: OK`);
    expect(await out(REPLICA, `readlink ${SHIPPED_NC_DIR}/${LATEST_ARCHIVE}`)).toBe(name);
  });

  it('a second run finds the same classification and changes nothing', async () => {
    const before = await lines(PRIMARY, `ls -1A ${DUMPS}`);
    const result = (await runner.task(dumpNc, PRIMARY, { receiver: 'replica' })).find(PRIMARY);
    expect(result?.error).toBeUndefined();
    expect(result?.changed).toBe(false);
    expect(result?.value).toMatchObject({ written: false, pruned: [], shipped: { sent: false } });
    expect(await lines(PRIMARY, `ls -1A ${DUMPS}`)).toEqual(before);
  });

  it('keeps only the newest N archives', async () => {
    const old = ['20200101T000000000Z', '20200102T000000000Z', '20200103T000000000Z'].map((s) => `nc_dump.${s}.json`);
    for (const f of old) await exec(PRIMARY, `cd ${DUMPS} && echo '[]' > ${f} && sha256sum ${f} > ${f}.sha256`);
    const newest = await out(PRIMARY, `readlink ${DUMPS}/${LATEST_ARCHIVE}`);
    const result = (await runner.task(dumpNc, PRIMARY, { to: REPLICA, keep: 2 })).find(PRIMARY);
    expect(result?.error).toBeUndefined();
    expect(result?.changed).toBe(true);
    expect(result?.value).toMatchObject({ written: false, pruned: [old[0], old[1]] });
    expect((await lines(PRIMARY, `ls -1 ${DUMPS}`)).sort()).toEqual(
      [old[2], `${old[2]}.sha256`, newest, `${newest}.sha256`, LATEST_ARCHIVE].sort(),
    );
    expect((await runner.task(dumpNc, PRIMARY, { to: REPLICA, keep: 2 })).find(PRIMARY)?.changed).toBe(false);
    await exec(PRIMARY, `cd ${DUMPS} && rm -f ${old[2]} ${old[2]}.sha256`);
  });
});

describe('restore_nc', () => {
  const replicaBase = classifierBase(REPLICA, 4433);
  const replicaTls = clientTlsPaths(SSL, REPLICA);

  it('noop reads and compares, lists the exact curl import, and changes nothing', async () => {
    const before = await groupsText(REPLICA);
    const result = (await runner.task(restoreNc, 'replica', {}, { noop: true })).find(REPLICA);
    expect(result?.error).toBeUndefined();
    expect(result?.changed).toBe(true);
    const wouldRun = result?.noop?.wouldRun ?? [];
    expect(wouldRun).toContain(classifierImportCommand(replicaTls, replicaBase));
    expect(wouldRun.some((c) => c.includes(`install -d -m 700 ${NC_DEFAULTS.backupDir}`))).toBe(true);
    expect(wouldRun).not.toContain(classifierGetCommand(replicaTls, replicaBase)); // a read: it ran
    expect(await groupsText(REPLICA)).toBe(before);
    expect((await exec(REPLICA, `test -e ${NC_DEFAULTS.backupDir}`)).exitCode).not.toBe(0);
  });

  it("imports the archive into the replica's classifier, after saving what was there", async () => {
    const before = await groupsOf(REPLICA);
    const result = (await runner.task(restoreNc, 'replica')).find(REPLICA);
    expect(result?.error).toBeUndefined();
    expect(result?.changed).toBe(true);
    const value = result?.value as { archive: string; backup: string };
    expect(value.archive.startsWith(`${SHIPPED_NC_DIR}/nc_dump.`)).toBe(true);
    expect(value).toMatchObject({ groups_added: ['pef e2e web'], groups_removed: [], groups_changed: [] });
    const archived = JSON.parse(await out(REPLICA, `cat ${value.archive}`)) as NodeGroup[];
    const now = await groupsOf(REPLICA);
    expect(same(now, archived)).toBe(true);
    expect(same(now, transformGroups(await groupsOf(PRIMARY), { from: PRIMARY, to: REPLICA }).groups)).toBe(true);
    expect(now.find((g) => g.name === 'pef e2e web')?.classes['role::web']).toMatchObject({
      server: 'replica.lab:8140',
    });
    // What was replaced is kept, checksummed.
    expect(same(JSON.parse(await out(REPLICA, `cat ${value.backup}`)) as NodeGroup[], before)).toBe(true);
    const backup = value.backup.split('/').pop() ?? '';
    expect(await out(REPLICA, `cd ${NC_DEFAULTS.backupDir} && sha256sum -c ${backup}.sha256`)).toContain(
      `${backup}: OK`,
    );
  });

  it('a second run finds the classifier equal and changes nothing', async () => {
    const result = (await runner.task(restoreNc, 'replica')).find(REPLICA);
    expect(result?.error).toBeUndefined();
    expect(result?.changed).toBe(false);
    expect(await lines(REPLICA, `ls -1 ${NC_DEFAULTS.backupDir}`)).toHaveLength(2);
  });

  it('refuses a damaged archive before touching the classifier; dump_nc ships a good one again', async () => {
    await importInto(REPLICA, replicaOriginal);
    const name = await out(REPLICA, `readlink ${SHIPPED_NC_DIR}/${LATEST_ARCHIVE}`);
    await exec(REPLICA, `sed -i 's/${REPLICA}/evil.lab/' ${SHIPPED_NC_DIR}/${name}`);
    const result = (await runner.task(restoreNc, 'replica')).find(REPLICA);
    expect(result?.error?.kind).toBe('pef/task-failed');
    expect(result?.error?.msg).toContain(`Checksum mismatch for ${SHIPPED_NC_DIR}/${name}`);
    expect(result?.error?.msg).toContain('Nothing was changed');
    expect(same(await groupsOf(REPLICA), JSON.parse(replicaOriginal) as NodeGroup[])).toBe(true);

    const reship = (await runner.task(dumpNc, PRIMARY, { receiver: 'replica' })).find(PRIMARY);
    expect(reship?.error).toBeUndefined();
    expect(reship?.changed).toBe(true);
    expect(reship?.value).toMatchObject({ written: false, shipped: { sent: true } });
    expect(await out(REPLICA, `cd ${SHIPPED_NC_DIR} && sha256sum -c ${name}.sha256`)).toContain(`${name}: OK`);
  });

  it("reports the classifier's refusal (HTTP 400) and leaves the replica's classification unchanged", async () => {
    const before = await groupsText(REPLICA);
    // pef checks the shape of node groups, the classifier also the hierarchy: a parent that does not exist.
    const groups = transformGroups(await groupsOf(PRIMARY), { from: PRIMARY, to: REPLICA }).groups.map((g) =>
      g.name === 'pef e2e web' ? { ...g, parent: '7e570000-0000-4000-8000-0000000000ff' } : g,
    );
    const name = 'nc_dump.20300101T000000000Z.json';
    await exec(
      REPLICA,
      `mkdir -p ${BAD_DIR} && cd ${BAD_DIR} && cat > ${name} && sha256sum ${name} > ${name}.sha256`,
      `${JSON.stringify(groups)}\n`,
    );
    const result = (await runner.task(restoreNc, 'replica', { dump_dir: BAD_DIR })).find(REPLICA);
    expect(result?.error?.kind).toBe('pef/task-failed');
    expect(result?.error?.msg).toContain(`POST ${replicaBase}/import-hierarchy on ${REPLICA} answered HTTP 400`);
    expect(result?.error?.msg).toContain('missing-parents');
    expect(result?.error?.msg).toContain("the replica's classification is unchanged");
    expect(await groupsText(REPLICA)).toBe(before);
  });

  it('is refused while the replica has the replication kill-switch on, and so is shipping to it', async () => {
    await exec(REPLICA, `mkdir -p /etc/pef && echo 'reason=e2e test' > ${KILL_SWITCH_FILE}`);
    try {
      const before = await groupsText(REPLICA);
      const result = (await runner.task(restoreNc, 'replica')).find(REPLICA);
      expect(result?.error?.msg).toMatch(/^restore_nc refused: replication is switched off on replica\.lab/);
      const dump = (await runner.task(dumpNc, PRIMARY, { receiver: 'replica' })).find(PRIMARY);
      expect(dump?.error?.msg).toMatch(/^dump_nc refused: replication is switched off on replica\.lab/);
      expect(await groupsText(REPLICA)).toBe(before);
    } finally {
      await exec(REPLICA, `rm -f ${KILL_SWITCH_FILE}`);
    }
  });

  it('never shows a private key in results or the run log', async () => {
    const log = runner.log();
    expect(log).toContain('import-hierarchy');
    expect(log).not.toContain('PRIVATE KEY');
    for (const host of [PRIMARY, REPLICA]) {
      const key = (await out(host, `cat ${SSL}/private_keys/${host}.pem`)).split('\n')[2] ?? '';
      expect(key.length).toBeGreaterThan(20);
      expect(log).not.toContain(key);
      expect(JSON.stringify(runner.events)).not.toContain(key);
    }
  });
});
