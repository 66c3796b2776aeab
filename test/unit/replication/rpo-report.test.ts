/**
 * The RPO a failover reports: the age of the spare's copy of each kind, from its receive jobs'
 * state files, measured on the spare's clock; unknown stays unknown.
 */
import { describe, expect, it } from '@jest/globals';
import { rpoReport } from '../../../src/replication/rpo-report.js';
import { parseStatusProbe, statusProbeCommand } from '../../../src/replication/status-probe.js';
import { fakeStatusHost, jobText, statusProbeAnswer } from '../../helpers/fake-status-host.js';

const NOW = Date.parse('2026-06-01T12:00:00Z') / 1000;
const ago = (s: number) => new Date((NOW - s) * 1000).toISOString();

function spare(jobs: Record<string, string>, flavor: 'oss' | 'pe' = 'oss') {
  const host = fakeStatusHost('r', 'passive', { jobs, flavor });
  return parseStatusProbe(statusProbeAnswer(host, statusProbeCommand({ servers: [] })) ?? '');
}

describe('rpoReport', () => {
  it('gives each kind the age of its last receive, and says PuppetDB was streamed', () => {
    const rows = rpoReport(
      spare({
        'receive_ca.state': jobText({ job: 'receive_ca', role: 'receive', lastRun: ago(5), lastSuccess: ago(42) }),
        // The send side of a job is not what the spare holds.
        'sync_ca.state': jobText({ job: 'sync_ca', lastRun: ago(1), lastSuccess: ago(1) }),
      }),
    );
    expect(rows).toEqual([
      expect.objectContaining({ kind: 'ca', last_success: ago(42), age_s: 42, result: 'success', error: null }),
      expect.objectContaining({ kind: 'puppetdb', age_s: null, note: expect.stringMatching(/command_broadcast/) }),
    ]);
    expect(rows[0]?.note).toMatch(/last 42s before the failover is lost/);
  });

  it('keeps a failing kind at its last success and names the error; a kind never received is unknown', () => {
    const rows = rpoReport(
      spare(
        {
          'receive_classification.state': jobText({
            job: 'receive_classification',
            kind: 'classification',
            role: 'receive',
            result: 'failure',
            lastRun: ago(10),
            lastSuccess: ago(3600),
            error: 'restore_nc: 503',
          }),
        },
        'pe',
      ),
    );
    expect(rows.find((r) => r.kind === 'classification')).toMatchObject({
      age_s: 3600,
      result: 'failure',
      error: 'restore_nc: 503',
    });
    expect(rows.find((r) => r.kind === 'ca')).toMatchObject({ age_s: null, last_success: null });
    expect(rows.find((r) => r.kind === 'ca')?.note).toMatch(/cannot be told/);
    expect(rows.some((r) => r.kind === 'puppetdb')).toBe(false);
  });
});
