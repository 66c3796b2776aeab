/**
 * The warm spare in one command, on the shared oss lab, through the CLI as an operator runs it:
 * `pef plan run setup` (code=rsync: the lab's replica has no environments of its own) turns the
 * lab into a verified warm spare, `pef status` says healthy, a
 * second setup changes nothing, and a failing sync job makes status unhealthy (exit 2).
 * Runs after the task and replication suites (test/helpers/lab-test-sequencer.mjs).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ensureLab, labSh } from '../../helpers/lab.js';
import { cliJson as json, failedSteps, runCli } from '../../helpers/run-cli.js';

let inventory = '';
const sh = labSh;
beforeAll(async () => {
  inventory = (await ensureLab()).inventory;
}, 900_000);

describe('setup on the oss lab', () => {
  it('turns the lab into a warm spare whose status is healthy', async () => {
    const run = await runCli(['plan', 'run', 'setup', '-i', inventory, '--format', 'json', 'code=rsync']);
    const result = json(run);
    expect(failedSteps(result)).toEqual([]);
    expect(run.code).toBe(0);
    const status = await runCli(['status', '-i', inventory, '--format', 'json']);
    const doc = json(status);
    expect(doc).toMatchObject({ active: 'primary.lab', replica: 'replica.lab', problems: [], healthy: true });
    expect(status.code).toBe(0);
  }, 1_200_000);

  it('changes nothing when run again on the unchanged pair', async () => {
    const run = await runCli(['plan', 'run', 'setup', '-i', inventory, '--format', 'json', 'code=rsync']);
    const result = json(run);
    expect(failedSteps(result)).toEqual([]);
    expect(result['changed']).toBe(0);
  }, 900_000);

  it('shows a failing sync job in status: unhealthy, the reason in problems, exit 2', async () => {
    // The replica's transfer user refuses the primary's key: the next CA pass fails on the host.
    const keys = '/var/lib/pef-transfer/.ssh/authorized_keys';
    await sh('replica', `cp -p ${keys} ${keys}.pef-test && : > ${keys}`);
    try {
      await sh('primary', 'puppetserver ca generate --certname setup-e2e-fail.lab >/dev/null');
      let doc: Record<string, unknown> = {};
      let code: number | null = null;
      for (let i = 0; i < 30 && doc['healthy'] !== false; i++) {
        await new Promise((r) => setTimeout(r, 2000));
        const status = await runCli(['status', '-i', inventory, '--format', 'json']);
        doc = json(status);
        code = status.code;
      }
      expect(doc['healthy']).toBe(false);
      expect(code).toBe(2);
      expect((doc['problems'] as string[]).join('\n')).toMatch(/ca/);
    } finally {
      await sh('replica', `mv -f ${keys}.pef-test ${keys}`);
    }
  }, 300_000);
});
