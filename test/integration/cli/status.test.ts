/**
 * `pef status` end to end through the built CLI: a pair whose servers cannot be reached is not
 * healthy (exit 2, one JSON document in the documented shape, the reasons in problems), and an
 * inventory without a pair is a usage error (exit 1). Nothing listens on the addresses used.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/run-cli.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pef-status-cli-'));
  const target = (name: string, address: string, role: string) =>
    `  - name: ${name}\n    uri: ${address}\n    vars: { role: ${role} }\n`;
  const config =
    'version: 2\nconfig:\n  transport: ssh\n  ssh: { user: root, port: 1, connect-timeout: 2 }\ntargets:\n';
  writeFileSync(
    join(dir, 'pair.yaml'),
    config + target('p.example', '127.0.20.1', 'primary') + target('r.example', '127.0.20.2', 'replica'),
  );
  writeFileSync(join(dir, 'lonely.yaml'), config + target('p.example', '127.0.20.1', 'primary'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pef status', () => {
  it('unreachable servers: exit 2, one JSON document with healthy false and why', async () => {
    const run = await runCli(['status', '-i', 'pair.yaml', '--format', 'json', '--log-file', 'run.log'], { cwd: dir });
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      active: null,
      replica: 'r.example',
      healthy: false,
      epoch: { 'p.example': null, 'r.example': null },
    });
    expect(doc['data']).toEqual([{ kind: 'ca', last_success: null, age_s: null, error: null, lag: null, jobs: [] }]);
    expect(doc['problems']).toEqual([
      expect.stringMatching(/^cannot read p\.example: .*ECONNREFUSED/),
      expect.stringMatching(/^cannot read r\.example: .*ECONNREFUSED/),
    ]);
  });

  it('as a table: NOT HEALTHY and the problems, exit 2', async () => {
    const run = await runCli(['status', '-i', 'pair.yaml', '--log-file', 'run.log'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^pef status: NOT HEALTHY\n/);
    expect(run.stdout).toMatch(/^KIND +LAST SUCCESS +AGE +LAG +ERROR$/m);
    expect(run.stdout).toMatch(/^ {2}- cannot read r\.example/m);
  });

  it('an inventory without a replica is a usage error naming the fix: exit 1', async () => {
    const run = await runCli(['status', '-i', 'lonely.yaml', '--format', 'json', '--log-file', 'run.log'], {
      cwd: dir,
    });
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as { status: string; error: { kind: string; msg: string } };
    expect(doc.error.kind).toBe('pef/validation-error');
    expect(doc.error.msg).toMatch(/exactly one target vars\.role: primary and one vars\.role: replica/);
  });
});
