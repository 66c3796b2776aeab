/**
 * `pef --version` from the built launcher: it prints the build's version constant and loads
 * nothing but the launcher and that constant (no CLI, no commander). Needs `npm run build`.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { VERSION } from '../../../src/version.js';

const bin = new URL('../../../bin/pef.js', import.meta.url).pathname;

// A module hook (Node's register API) that reports every module the process resolves.
const hook = `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('RESOLVED ' + r.url + '\\n'); return r; }`;
const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;

describe('pef --version', () => {
  it.each(['--version', '-V'])('%s prints the version without loading the CLI or commander', (flag) => {
    const run = spawnSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, bin, flag],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${VERSION}\n`);
    const loaded = run.stderr.split('\n').filter((l) => l.startsWith('RESOLVED file:'));
    // The hook proves itself: it saw the launcher.
    expect(loaded.some((l) => l.endsWith('/bin/pef.js'))).toBe(true);
    expect(loaded.filter((l) => !/\/bin\/pef\.js$|\/dist\/src\/version\.js$/.test(l))).toEqual([]);
  });
});
