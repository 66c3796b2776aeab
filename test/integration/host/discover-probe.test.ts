/**
 * The discovery follow-up probe run for real: a path that would break out of an awk program (or a
 * shell word) is only ever data.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followUpScript, parseDiscovery } from '../../../src/host/discover.js';

const base = mkdtempSync(join(tmpdir(), 'pef-discover-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('followUpScript', () => {
  it('reports free disk for a cadir whose name holds quotes and an awk program, running none of it', () => {
    const marker = join(base, 'ran');
    const cadir = join(base, `ca" ; system("touch ran") ; x="'$(touch ran)`);
    mkdirSync(cadir);
    const facts = parseDiscovery(`config.cadir=${cadir}\nconfig.ssldir=${base}`);
    const out = spawnSync('sh', ['-c', followUpScript(facts)], { encoding: 'utf8', cwd: base });
    expect(out.stderr).toBe('');
    expect(existsSync(marker)).toBe(false);
    // The key comes out exactly as the path is (parsing a key with `=` in it is another matter).
    expect(out.stdout.split('\n')).toContainEqual(
      expect.stringMatching(new RegExp(`^disk\\.${cadir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}=\\d+$`)),
    );
  });
});
