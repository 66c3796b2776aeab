import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load-config.js';

const dirs: string[] = [];
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pef-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('loadConfig', () => {
  it('reads .pefrc.yaml from the project root when run in a subdirectory', async () => {
    const dir = project({
      'package.json': '{"name":"x"}',
      '.pefrc.yaml': 'inventory: inv.yaml\nconcurrency: 5\n',
      'sub/keep': '',
    });
    const config = await loadConfig(join(dir, 'sub'));
    expect(config).toMatchObject({ inventory: 'inv.yaml', concurrency: 5, file: join(dir, '.pefrc.yaml') });
  });

  it('reads package.json#pef', async () => {
    const dir = project({ 'package.json': JSON.stringify({ name: 'x', pef: { format: 'json' } }) });
    expect(await loadConfig(dir)).toMatchObject({ format: 'json' });
  });

  it('returns {} without a config', async () => {
    const dir = project({ 'package.json': '{"name":"x"}' });
    expect(await loadConfig(dir)).toEqual({});
  });

  it('names the file and the bad key', async () => {
    const dir = project({ 'package.json': '{"name":"x"}', '.pefrc.json': '{"concurency": 5, "format": "xml"}' });
    const error = await loadConfig(dir).catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'pef/validation-error',
      message: expect.stringMatching(/^Invalid pef config in .*\.pefrc\.json:\n/),
    });
    expect((error as Error).message).toContain('concurency');
    expect((error as Error).message).toContain('format:');
  });
});
