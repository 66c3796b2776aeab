/**
 * `pef plan export sync` on the oss lab (after setup.test.ts, test/helpers/lab-test-sequencer.mjs):
 * the runbook, run with bash, does what `pef plan run sync` does. Only the runbook may carry the
 * data: the host-side jobs are paused while a certificate is generated on the primary and facts
 * of a new node are sent to the primary's PuppetDB alone (not through the broadcast). So the
 * replica's CA lacks the certificate and its PuppetDB lacks the node, and the sync reseeds it: a
 * dump_db on the primary, then a restore_db on the replica of that dump, which the export's dry
 * run never wrote (the script takes its checksum from the copy's output). Afterwards both are on
 * the replica, the CA pass is recorded in both state files at the time the script ran, and, jobs
 * resumed, status is healthy. Sync has no secret parameter: test/unit/plan/export-plan.test.ts
 * shows a sensitive one becoming a required variable; here the inventory's key stays a path.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_JOB_SERVICE } from '../../../src/replication/job-units.js';
import { jobStatePath, parseJobState } from '../../../src/replication/job-state.js';
import { ensureLab, labSh, TEST_LAB_DIR } from '../../helpers/lab.js';
import { cliJson as json, runCli } from '../../helpers/run-cli.js';

let inventory = '';
let dir = '';
const sh = labSh;
const jobs = (host: string, action: 'start' | 'stop') => sh(host, `pef-lab-service ${action} ${LAB_JOB_SERVICE}`);
const state = async (host: string, job: string) =>
  parseJobState((await sh(host, `cat ${jobStatePath(job)} 2>/dev/null || true`)).stdout);

// A PuppetDB query or command on the primary, with its certificate (the lab's ssldir).
const SSL = '/var/lib/puppet/ssl';
const pdb = (args: string) =>
  `curl -sS --fail --max-time 30 --cacert ${SSL}/certs/ca.pem --cert ${SSL}/certs/primary.lab.pem --key ${SSL}/private_keys/primary.lab.pem ${args}`;
const nodesOn = async (server: string) =>
  (
    JSON.parse(
      (await sh('primary', pdb(`-G --data-urlencode 'query=nodes[certname] {}' https://${server}:8081/pdb/query/v4`)))
        .stdout,
    ) as { certname: string }[]
  ).map((n) => n.certname);

function bash(file: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [file], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

beforeAll(async () => {
  inventory = (await ensureLab()).inventory;
  dir = mkdtempSync(join(tmpdir(), 'pef-export-sync-e2e-'));
}, 900_000);

afterAll(async () => {
  await jobs('primary', 'start');
  await jobs('replica', 'start');
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('pef plan export sync on the lab', () => {
  it('writes a runbook that, run with bash, carries the CA and reseeds PuppetDB as pef plan run sync would', async () => {
    // The replica's jobs too: its CA pass must not run between the runbook's CA install (which
    // removes the staged copy) and the primary's next shipment.
    for (const host of ['primary', 'replica']) expect((await jobs(host, 'stop')).exitCode).toBe(0);
    const node = `export-e2e-${Date.now()}.lab`;
    await sh('primary', `puppetserver ca generate --certname ${node} >/dev/null 2>&1`);
    expect((await sh('primary', `test -f /etc/puppet/puppetserver/ca/signed/${node}.pem`)).exitCode).toBe(0);
    const now = new Date().toISOString();
    const facts = JSON.stringify({
      certname: node,
      environment: 'production',
      values: { pef_export: now },
      producer_timestamp: now,
      producer: 'primary.lab',
    });
    const command = `https://primary.lab:8081/pdb/cmd/v1?command=replace_facts&version=5&certname=${node}`;
    const sent = await sh('primary', pdb(`-H 'Content-Type: application/json' -X POST -d '${facts}' '${command}'`));
    expect(sent.exitCode).toBe(0);
    for (let i = 0; i < 30 && !(await nodesOn('primary.lab')).includes(node); i++)
      await new Promise((r) => setTimeout(r, 1000));
    expect(await nodesOn('primary.lab')).toContain(node);
    expect(await nodesOn('replica.lab')).not.toContain(node);

    const file = join(dir, 'sync-runbook.sh');
    const exported = await runCli(['plan', 'export', 'sync', '-i', inventory, '-o', file], { cwd: dir });
    expect(`${exported.code}\n${exported.stderr}`).toMatch(/^0\n/);
    expect(statSync(file).mode & 0o777).toBe(0o700);
    const script = readFileSync(file, 'utf8');
    expect(script).toContain('THIS SCRIPT CHANGES HOSTS');
    // The CA copied, the dump written and shipped, its checksum kept from the replica's copy for the swap.
    expect(script).toContain('pef-transfer@replica.lab:ca/');
    expect(script).toContain('pef-transfer@replica.lab:dumps/');
    expect(script).toMatch(/^# found: primary\.lab: replica lacks [1-9]\d* node\(s\)/m);
    expect(script).toContain('PEF_VALUE_PUPPETDB_DUMP_SHA256=$(on_replica_lab ');
    expect(script).toContain(`pef-restore sha256='"$PEF_VALUE_PUPPETDB_DUMP_SHA256"'`);
    expect(script).not.toMatch(/^pef_stop /m);
    expect(script).not.toMatch(/PRIVATE KEY|@@pef:/);
    expect(readFileSync(`${TEST_LAB_DIR}/keys/id_lab`, 'utf8')).toContain('PRIVATE KEY');
    expect(script).toContain(`-i ${TEST_LAB_DIR}/keys/id_lab`);

    const started = new Date().toISOString();
    const run = await bash(file);
    expect(`${run.code}\n${run.stderr}`).toMatch(/^0\n[\s\S]*pef: runbook of plan sync done/);

    expect((await sh('replica', `test -f /etc/puppet/puppetserver/ca/signed/${node}.pem`)).exitCode).toBe(0);
    expect(await nodesOn('replica.lab')).toContain(node);
    for (const [host, job] of [
      ['primary', 'sync_ca'],
      ['replica', 'receive_ca'],
    ] as const)
      expect(await state(host, job)).toMatchObject({ result: 'success', lastSuccess: expect.any(String) });
    expect((await state('primary', 'sync_ca'))!.lastSuccess! >= started).toBe(true);
    expect((await state('replica', 'receive_ca'))!.lastSuccess! >= started).toBe(true);

    // Jobs back: the primary's first, which ships the CA the replica's pass works from.
    const resumed = new Date().toISOString();
    expect((await jobs('primary', 'start')).exitCode).toBe(0);
    for (let i = 0; i < 60 && ((await state('primary', 'sync_ca'))?.lastRun ?? '') < resumed; i++)
      await new Promise((r) => setTimeout(r, 2000));
    expect((await jobs('replica', 'start')).exitCode).toBe(0);
    const status = await runCli(['status', '-i', inventory, '--format', 'json'], { cwd: dir });
    expect(json(status)).toMatchObject({ healthy: true, problems: [] });
    expect(status.code).toBe(0);
  }, 900_000);
});
