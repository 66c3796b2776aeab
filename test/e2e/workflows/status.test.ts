/**
 * status against the lab: the probe's shell text on real servers (puppet config, curl to 8140
 * from each server with its own certificate, the CA, state files), and the built CLI's exit code.
 * Whatever state earlier suites left the lab in, a failing job planted on the primary must make
 * the pair unhealthy with that job's error, and nothing may be reported as unreadable. The planted
 * state file is removed in afterAll. The nightly-check example script reads the same state.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labExec } from '../../../src/lab/lab-exec.js';
import { EPOCH_FILE, parseEpochFile } from '../../../src/puppet/epoch.js';
import { JOB_STATE_DIR, renderJobState } from '../../../src/replication/job-state.js';
import type { StatusDocument } from '../../../src/replication/status.js';
import { status } from '../../../plans/status.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { NIGHTLY_CHECK, runCli, runNode } from '../../helpers/run-cli.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

const PLANTED = `${JOB_STATE_DIR}/pef_e2e_status.state`;
const inventory = join(TEST_LAB_DIR, 'inventory.yaml');
let runner: TaskRunner;

async function sh(host: string, command: string) {
  return labExec(host, ['sh', '-c', command], { dir: TEST_LAB_DIR, timeoutMs: 60_000 });
}

beforeAll(async () => {
  await ensureLab();
  runner = await taskRunner(inventory);
  const now = new Date().toISOString();
  const state = renderJobState({
    job: 'pef_e2e_status',
    kind: 'ca',
    role: 'send',
    result: 'failure',
    lastRun: now,
    lastSuccess: null,
    lastFailure: now,
    error: 'planted by the status e2e test',
    durationMs: 1,
    bytes: 0,
    intervalS: 60,
    lag: null,
  });
  const text = Buffer.from(state).toString('base64');
  const planted = await sh('primary', `mkdir -p ${JOB_STATE_DIR} && echo ${text} | base64 -d > ${PLANTED}`);
  expect(planted.exitCode).toBe(0);
}, 600_000);

afterAll(async () => {
  await sh('primary', `rm -f ${PLANTED}`);
  await runner?.close();
});

describe('status on the lab', () => {
  it('reads both servers for real and reports the planted failing job: not healthy', async () => {
    const result = await runner.plan(status);
    const doc = result.value as StatusDocument;
    expect(result.status).toBe('failure');
    expect(doc.healthy).toBe(false);
    expect(doc.flavor).toBe('oss');
    expect(doc.problems).toContainEqual(
      expect.stringMatching(/^ca: pef_e2e_status on primary\.lab failed at .*: planted by the status e2e test\.$/),
    );
    // status's own reading failures; a job's recorded error (e.g. an earlier suite's failed pass) is not one.
    const unread = (p: string) =>
      !/^\w+: \S+ on \S+ failed at /.test(p) && /^cannot read|could not be used|could not be read/.test(p);
    expect(doc.problems.filter(unread)).toEqual([]);
    // The primary's Puppet Server answers on 8140, asked from the primary itself with its certificate.
    expect(doc.answers_8140['primary.lab']?.['primary.lab']).toBe(true);
    expect(doc.code_drift).not.toBeNull();
    expect(doc.jobs).toContainEqual(expect.objectContaining({ host: 'primary.lab', job: 'pef_e2e_status' }));
  }, 120_000);

  it('pef status exits 2 with one JSON document', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'pef-status-e2e-'));
    const run = await runCli(['status', '-i', inventory, '--format', 'json'], { cwd });
    rmSync(cwd, { recursive: true, force: true });
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as StatusDocument;
    expect(doc).toMatchObject({ healthy: false });
    // Each server's epoch as its /etc/pef/epoch says (null: no file), whatever earlier suites left.
    const epochOf = async (host: string) =>
      parseEpochFile((await sh(host, `cat ${EPOCH_FILE} 2>/dev/null || true`)).stdout);
    expect(doc.epoch).toEqual({ 'primary.lab': await epochOf('primary'), 'replica.lab': await epochOf('replica') });
    expect(doc.problems.length).toBeGreaterThan(0);
  }, 120_000);

  it('examples/runbooks/nightly-check.mjs prints the document and one line naming the problem, exit 2', async () => {
    const run = await runNode([NIGHTLY_CHECK, '--inventory', inventory]);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ healthy: false });
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('pef nightly check:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pef nightly check: NOT healthy \(active: [^)]+\): .*planted by the status e2e test\./);
  }, 120_000);
});
