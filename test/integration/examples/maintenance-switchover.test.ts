/**
 * examples/runbooks/maintenance-switchover.mjs without a lab: what it refuses before it changes
 * anything (bad flags: exit 1; a pair it cannot reach is not healthy: exit 2, the problems named,
 * nothing switched). Its dry run on real servers is in
 * test/e2e/workflows/maintenance-switchover.test.ts; the switchover there and back is not in the
 * suite (CI time): docs/runbook-scripts.md says how it was verified.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAINTENANCE_SWITCHOVER, runNode, writeUnreachablePair } from '../../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pef-maintenance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('maintenance-switchover.mjs', () => {
  it('parses (node --check)', async () => {
    const run = await runNode(['--check', MAINTENANCE_SWITCHOVER]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
  });

  it('a bad flag: named, nothing run, exit 1', async () => {
    const run = await runNode([MAINTENANCE_SWITCHOVER, '-i', join(dir, 'none.yaml'), '--wait', 'soon', '--command']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'maintenance-switchover: --command needs a command; --wait needs a whole number of seconds. Nothing was run.\n',
    );
  });

  it('a pair it cannot reach: refused before any switchover, the problem named, exit 2', async () => {
    const inventory = writeUnreachablePair(dir, ['127.0.23.11', '127.0.23.12']);
    const run = await runNode([MAINTENANCE_SWITCHOVER, '-i', inventory, '--json']);
    expect(run.code).toBe(2);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ switchovers: [], command: null, next: expect.stringContaining('pef status -i') });
    expect(summary['error']).toMatch(
      /^refused: the pair is not healthy \(active: unknown\): cannot read primary\.example: .*Nothing was changed\.$/s,
    );
    expect(run.stderr).toContain('maintenance-switchover: STOPPED: refused: the pair is not healthy');
    expect(run.stderr).not.toContain('switchover primary.example');
  }, 60_000);
});
