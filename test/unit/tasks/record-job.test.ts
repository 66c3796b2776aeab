/**
 * record_job writes the state file status reads with the host's clock at the moment its command
 * runs (not the controller's when the command was built), so a runbook exported earlier records
 * the time it ran. The write command runs for real here, its state dir moved into a temp dir.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileCommand } from '../../../src/host/files.js';
import {
  JOB_STATE_DIR,
  jobStatePath,
  parseJobState,
  renderJobState,
  type JobState,
} from '../../../src/replication/job-state.js';
import { runTask } from '../../../src/task/run-task.js';
import { recordJob } from '../../../tasks/record-job.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const before: JobState = {
  job: 'receive_ca',
  kind: 'ca',
  role: 'receive',
  result: 'failure',
  lastRun: '2026-12-01T00:00:00.000Z',
  lastSuccess: '2026-11-30T00:00:00.000Z',
  lastFailure: '2026-12-01T00:00:00.000Z',
  error: 'old',
  durationMs: 5,
  bytes: null,
  intervalS: 60,
  lag: null,
};

async function record(params: Record<string, unknown>, noop = false) {
  dir = mkdtempSync(join(tmpdir(), 'pef-record-'));
  const fake = fakeRuntime(
    [fakeTarget('replica')],
    (_t, command) =>
      command === readFileCommand(jobStatePath('receive_ca')) ? { stdout: renderJobState(before) } : {},
    { noop },
  );
  const set = await runTask(fake.runtime, recordJob, [fakeTarget('replica')], {
    job: 'receive_ca',
    kind: 'ca',
    role: 'receive',
    ...params,
  });
  expect(set.results[0]?.error).toBeUndefined();
  const commands = noop
    ? fake.events.flatMap((e) => (e.type === 'noop-command' ? [e.command] : []))
    : fake.sent.map((s) => s.command);
  const write = commands.find((c) => c.startsWith('now=$('));
  if (write === undefined) throw new Error(`no state write in:\n${commands.join('\n')}`);
  const run = spawnSync('sh', ['-c', write.replaceAll(JOB_STATE_DIR, dir)], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return parseJobState(readFileSync(join(dir, 'receive_ca.state'), 'utf8'));
}

describe('record_job', () => {
  it('stamps a success with the time its command runs, keeping the schedule', async () => {
    const started = Date.now();
    // Built in a dry run, as a runbook holds it, and run afterwards.
    const state = await record({ result: 'success', message: "it's carried" }, true);
    expect(Date.parse(state?.lastRun ?? '')).toBeGreaterThanOrEqual(started - 1000);
    expect(state).toMatchObject({ result: 'success', error: null, lastFailure: before.lastFailure, intervalS: 60 });
    expect(state?.lastSuccess).toBe(state?.lastRun);
  });

  it('keeps the last success on a failure and writes its message as it is', async () => {
    const state = await record({ result: 'failure', message: `it's @@now@@ $(false) "quoted"` });
    expect(state).toMatchObject({ result: 'failure', lastSuccess: before.lastSuccess });
    expect(state?.error).toBe(`it's @@now@@ $(false) "quoted"`);
    expect(state?.lastFailure).toBe(state?.lastRun);
  });
});
