/**
 * The status table: who is active, one row per kind, the problems whole; narrow enough for an
 * 80-column terminal however long an error is.
 */
import { describe, expect, it } from '@jest/globals';
import { formatStatus } from '../../../src/cli/format-status.js';
import type { StatusDocument } from '../../../src/replication/status.js';

const base: StatusDocument = {
  active: 'primary.example.com',
  replica: 'replica.example.com',
  healthy: true,
  data: [
    { kind: 'ca', last_success: '2026-06-01T11:59:50.123Z', age_s: 10, error: null, lag: 0, jobs: [] },
    { kind: 'puppetdb', last_success: null, age_s: null, error: null, lag: null, jobs: [] },
  ],
  problems: [],
  flavor: 'oss',
  modes: { 'primary.example.com': 'active', 'replica.example.com': 'passive' },
  kill_switch: { 'primary.example.com': null, 'replica.example.com': null },
  epoch: { 'primary.example.com': 2, 'replica.example.com': 2 },
  answers_8140: {
    'primary.example.com': { 'primary.example.com': true, 'replica.example.com': true },
    'replica.example.com': { 'primary.example.com': true, 'replica.example.com': true },
  },
  code_drift: false,
  ca: { serial_equal: true, lag: 0 },
  puppetdb: { broadcast: true, lag: null },
  jobs: [],
  checked_at: '2026-06-01T12:00:00.000Z',
};

describe('formatStatus', () => {
  it('a healthy pair: the active server and its spare, a row per kind, unknown lag as ?', () => {
    const text = formatStatus(base);
    expect(text.split('\n').slice(0, 8)).toEqual([
      'pef status: healthy (oss)',
      'active   primary.example.com (active, epoch 2, answers on 8140)',
      'replica  replica.example.com (passive, epoch 2, answers on 8140)',
      'code     same on both',
      '',
      'KIND          LAST SUCCESS            AGE   LAG  ERROR',
      'ca            2026-06-01T11:59:50Z    10s     0  -',
      'puppetdb      -                         -     ?  -',
    ]);
    expect(text).not.toContain('Problems');
  });

  it('an unhealthy pair: a long error is cut in the table (under 80 columns) and given whole under Problems', () => {
    const error = `rsync: ${'x'.repeat(200)}`;
    const text = formatStatus({
      ...base,
      healthy: false,
      kill_switch: { ...base.kill_switch, 'replica.example.com': 'demoted' },
      data: [{ ...base.data[0]!, error }],
      problems: [`ca: sync_ca on primary.example.com failed: ${error}.`],
    });
    expect(text).toMatch(/^pef status: NOT HEALTHY/);
    expect(text).toContain('replica  replica.example.com (passive, epoch 2, answers on 8140, KILL-SWITCH ON)');
    const table = text.split('\n\nProblems:')[0]!;
    for (const line of table.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(text).toContain(`  - ca: sync_ca on primary.example.com failed: ${error}.`);
  });
});
