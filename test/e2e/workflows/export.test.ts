/**
 * `pef plan export sync` on the oss lab: the runbook, run with bash against the lab, does what
 * `pef plan run sync` does. The primary's host-side jobs are paused while a certificate is
 * signed on the primary, so only the runbook can carry the changed CA to the replica; afterwards
 * a dry run of sync finds nothing left to do and, jobs resumed, status is healthy.
 * The lab needs `setup` first: run here when status is not healthy yet.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labExec } from '../../../src/lab/lab-exec.js';
import { LAB_JOB_SERVICE } from '../../../src/replication/job-units.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { runCli, type CliRun } from '../../helpers/run-cli.js';

let inventory = '';
let dir = '';
const sh = (host: string, command: string) =>
  labExec(host, ['sh', '-c', command], { dir: TEST_LAB_DIR, timeoutMs: 300_000 });
const json = (run: CliRun): Record<string, unknown> => {
  try {
    return JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
};
type Step = { name: string; results: { items: { target: string; object: string; changed?: boolean }[] }[] };
const caChanges = (result: Record<string, unknown>) =>
  (result['steps'] as Step[])
    .filter((s) => s.name === 'ca')
    .flatMap((s) => s.results.flatMap((r) => r.items))
    .filter((i) => i.object === 'sync_ca')
    .map((i) => i.changed);

beforeAll(async () => {
  inventory = (await ensureLab()).inventory;
  dir = mkdtempSync(join(tmpdir(), 'pef-export-e2e-'));
  const status = await runCli(['status', '-i', inventory, '--format', 'json'], { cwd: dir });
  if (status.code !== 0) {
    const setup = await runCli(['plan', 'run', 'setup', '-i', inventory, '--format', 'json', 'code=rsync'], {
      cwd: dir,
    });
    expect(setup.code).toBe(0);
  }
}, 1_500_000);

afterAll(async () => {
  await sh('primary', `pef-lab-service start ${LAB_JOB_SERVICE}`);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pef plan export sync on the lab', () => {
  it('writes a runbook that, run with bash, carries the CA as pef plan run sync would', async () => {
    // A pass first: a dry run cannot show a PuppetDB reseed (restore_db needs the dump a real
    // dump_db writes), so the replica's PuppetDB must not lag when the runbook is exported.
    const synced = await runCli(['plan', 'run', 'sync', '-i', inventory, '--format', 'json'], { cwd: dir });
    expect(synced.code).toBe(0);
    // Only the runbook may move the CA: the primary's jobs are paused, then the CA changes.
    expect((await sh('primary', `pef-lab-service stop ${LAB_JOB_SERVICE}`)).exitCode).toBe(0);
    const signed = await sh('primary', `puppetserver ca generate --certname export-e2e-${Date.now()}.lab >/dev/null`);
    expect(signed.exitCode).toBe(0);

    const file = join(dir, 'sync-runbook.sh');
    const exported = await runCli(['plan', 'export', 'sync', '-i', inventory, '-o', file], { cwd: dir });
    expect(exported.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o700);
    const script = readFileSync(file, 'utf8');
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    expect(script).toContain('THIS SCRIPT CHANGES HOSTS');
    expect(script).toMatch(/^on_primary_lab 'rsync /m);
    expect(script).toMatch(/^on_replica_lab /m);
    const run = spawnSync('bash', [file], { encoding: 'utf8', cwd: dir, timeout: 600_000 });
    expect(`${run.status}\n${run.stderr}`).toMatch(/^0\n[\s\S]*pef: runbook of plan sync done/);

    const after = await runCli(['plan', 'run', 'sync', '-i', inventory, '--noop', '--format', 'json'], { cwd: dir });
    expect(caChanges(json(after))).toEqual([false]);
    expect((await sh('primary', `pef-lab-service start ${LAB_JOB_SERVICE}`)).exitCode).toBe(0);
    const status = await runCli(['status', '-i', inventory, '--format', 'json'], { cwd: dir });
    expect(json(status)).toMatchObject({ healthy: true, problems: [] });
    expect(status.code).toBe(0);
  }, 900_000);

  it('refuses to overwrite a runbook file, before it connects to anything', async () => {
    const again = await runCli(['plan', 'export', 'sync', '-i', inventory, '-o', join(dir, 'sync-runbook.sh')], {
      cwd: dir,
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists; choose another --output or add --force');
  }, 60_000);
});
