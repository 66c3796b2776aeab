import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load-config.js';
import { normaliseHooks } from '../../../src/workflow/hooks-config.js';

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

  it('reads hooks: one command or a list, each with the default or its own timeout', async () => {
    const dir = project({
      'package.json': '{"name":"x"}',
      '.pefrc.yaml': [
        'hookTimeoutMs: 5000',
        'hooks:',
        '  after-failover: ./dns-switch "$PEF_ACTIVE"',
        '  before-switchover:',
        '    - logger pef switchover',
        '    - command: ./lb-drain "$PEF_PREVIOUS"',
        '      timeoutMs: 30000',
        '',
      ].join('\n'),
    });
    const config = await loadConfig(dir);
    expect(normaliseHooks(config.hooks, config.hookTimeoutMs)).toEqual({
      'before-switchover': [
        { command: 'logger pef switchover', timeoutMs: 5000 },
        { command: './lb-drain "$PEF_PREVIOUS"', timeoutMs: 30000 },
      ],
      'after-failover': [{ command: './dns-switch "$PEF_ACTIVE"', timeoutMs: 5000 }],
    });
    expect(normaliseHooks(undefined)).toEqual({});
  });

  it('names an unknown hook point and an empty hook command', async () => {
    const dir = project({
      'package.json': '{"name":"x"}',
      '.pefrc.json': JSON.stringify({ hooks: { 'after-failvoer': 'x', 'before-failover': ' ' } }),
    });
    const error = (await loadConfig(dir).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ kind: 'pef/validation-error' });
    expect(error.message).toContain('after-failvoer');
    expect(error.message).toContain('hooks.before-failover');
  });
});
