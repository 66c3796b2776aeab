/**
 * examples/runbooks/nightly-check.mjs without a lab: a pair pef cannot reach is not healthy (the
 * document on stdout or --out, one line on stderr, exit 2), and a missing inventory is named.
 * The healthy-or-not verdict on real servers is in test/e2e/workflows/status.test.ts.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NIGHTLY_CHECK, runNode, writeUnreachablePair } from '../../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pef-nightly-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nightly-check.mjs', () => {
  it('a pair it cannot reach: the document in --out, one line naming both servers on stderr, exit 2', async () => {
    const inventory = writeUnreachablePair(dir, ['127.0.23.9', '127.0.23.10']);
    const out = join(dir, 'status.json');
    const run = await runNode([NIGHTLY_CHECK, '--inventory', inventory, '--out', out]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ healthy: false, active: null });
    expect(run.stderr).toMatch(
      /^pef nightly check: NOT healthy \(active: unknown\): cannot read primary\.example: .*\n$/,
    );
    expect(run.stderr).toContain('cannot read replica.example');
  }, 60_000);

  it('no inventory file: says so, writes nothing, exit 2', async () => {
    const run = await runNode([NIGHTLY_CHECK, '--inventory', join(dir, 'missing.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('pef nightly check: status could not run:');
    expect(run.stderr).toContain('inventory file not found');
  }, 60_000);
});
