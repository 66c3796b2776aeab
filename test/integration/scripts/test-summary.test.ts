/**
 * scripts/test.sh's closing line: a real jest run over a throwaway directory (a passing file, a
 * file that fails to load, a file whose afterAll throws) must be summarised with both broken
 * files counted as failed, though jest reports no failing test in them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const JEST = join(ROOT, 'node_modules/jest/bin/jest.js');
const SUMMARY = join(ROOT, 'scripts/test-summary.js');

let dir = '';
let jestExit: number | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pef-test-summary-'));
  await writeFile(join(dir, 'ok.test.mjs'), "test('passes', () => {});\n");
  await writeFile(
    join(dir, 'broken.test.mjs'),
    "import { nothing } from './does-not-exist.mjs';\ntest('never runs', () => nothing);\n",
  );
  await writeFile(
    join(dir, 'after-all.test.mjs'),
    "afterAll(() => { throw new Error('afterAll blew up'); });\ntest('passes too', () => {});\n",
  );
  const config = JSON.stringify({ testMatch: ['**/*.test.mjs'], transform: {} });
  try {
    await run(process.execPath, [JEST, '--config', config, '--rootDir', dir, '--json', `--outputFile=${dir}/r.json`], {
      cwd: dir,
      env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules --no-warnings' },
    });
    jestExit = 0;
  } catch (error) {
    jestExit = (error as { code?: number }).code;
  }
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('scripts/test-summary.js', () => {
  it('counts a file that fails to load and an afterAll that throws as failed', async () => {
    expect(jestExit).toBe(1);
    const { stdout } = await run(process.execPath, [SUMMARY, join(dir, 'r.json')]);
    const [line, ...notes] = stdout.trim().split('\n');
    expect(line).toBe('2 passed, 2 failed, 0 skipped (2 suite(s) failed outside a test)');
    expect(notes.join('\n')).toMatch(/broken\.test\.mjs: Cannot find module '\.\/does-not-exist\.mjs'/);
    expect(notes.join('\n')).toMatch(/after-all\.test\.mjs: afterAll blew up/);
  });

  it("is test.sh's closing line", async () => {
    const script = await readFile(join(ROOT, 'scripts/test.sh'), 'utf8');
    expect(script).toMatch(/node scripts\/test-summary\.js "\$results"/);
    expect(script).toMatch(/\nexit \$rc\n?$/);
  });
});
