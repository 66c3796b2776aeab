import { describe, expect, it } from '@jest/globals';
import { jobLogLine, parseJobState, renderJobState, type JobState } from '../../../src/replication/job-state.js';

const state: JobState = {
  job: 'sync_ca',
  kind: 'ca',
  role: 'send',
  result: 'failure',
  lastRun: '2026-12-02T10:00:05Z',
  lastSuccess: '2026-12-02T09:59:00Z',
  lastFailure: '2026-12-02T10:00:05Z',
  error: 'rsync: connection refused\nsecond line',
  durationMs: 1234,
  bytes: 0,
  intervalS: 60,
  lag: null,
};

describe('job state files', () => {
  it('read back what they were written with, the error on one line', () => {
    expect(parseJobState(renderJobState(state))).toEqual({ ...state, error: 'rsync: connection refused second line' });
  });

  it('are not trusted when they do not name a job, a role and a known result', () => {
    expect(parseJobState('')).toBeNull();
    expect(parseJobState('job=sync_ca\nkind=ca\nrole=sideways\nresult=success\n')).toBeNull();
    expect(parseJobState('job=sync_ca\nkind=ca\nrole=send\nresult=great\n')).toBeNull();
    expect(parseJobState('job=sync_ca\nkind=ca\nrole=send\nresult=success\nbytes=12k\n')?.bytes).toBeNull();
  });

  it('log one greppable line per pass', () => {
    expect(jobLogLine('sync_ca', 'FAILURE', 'no route\nto host')).toBe('PEF: sync_ca [FAILURE] no route to host');
  });
});
