/**
 * The sync plan without a lab: tasks are stubs (test/helpers/plan-spec.ts). What matters here is
 * that every kind is tried, a failing kind does not stop the others, and every pass is recorded
 * on both servers in the job names the host-side jobs use.
 */
import { describe, expect, it } from '@jest/globals';
import { sync } from '../../../plans/sync.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';
import { planSpec } from '../../helpers/plan-spec.js';

const pair = [fakeTarget('p', { role: 'primary' }), fakeTarget('r', { role: 'replica' })];
const discovered = (flavor: 'oss' | 'pe') => (target: string) => ({
  changed: false,
  value: { flavor, certname: `${target}.example` },
});
const records = (calls: { task: string; targets: string[]; params: Record<string, unknown>[] }[]) =>
  calls
    .filter((c) => c.task === 'record_job')
    .map((c) => `${c.targets[0]}:${String(c.params[0]?.['job'])}:${String(c.params[0]?.['result'])}`);

describe('sync', () => {
  it('on open source Puppet carries the CA and records it as sync_ca and receive_ca', async () => {
    const spec = planSpec(pair);
    spec.allowTask('discover', discovered('oss'));
    spec.allowTask('compare_puppetdb', { changed: false, value: { lag: 0 } });
    spec.expectTask('sync_ca').withTargets('p').withParams({ receiver: 'r' }).returns({ changed: true });
    spec.allowTask('record_job', { changed: true });
    const result = await spec.run(sync);
    expect(result.status).toBe('success');
    expect(records(spec.calls)).toEqual(['p:sync_ca:success', 'r:receive_ca:success']);
  });

  it('on open source Puppet reseeds a lagging PuppetDB from exactly the dump just shipped; a dry run previews the records too', async () => {
    const file = 'puppetdb-20261203T070000000Z.dump';
    for (const noop of [false, true]) {
      const spec = planSpec(pair);
      spec.allowTask('discover', discovered('oss'));
      spec.allowTask('sync_ca', { changed: false });
      spec.allowTask('compare_puppetdb', { changed: false, value: { lag: 1 } });
      spec
        .expectTask('dump_db')
        .withTargets('p')
        .returns({
          changed: true,
          value: { dumps: [{ database: 'puppetdb', file: `/var/lib/pef/dumps/puppetdb/${file}` }] },
        });
      spec
        .expectTask('restore_db')
        .withTargets('r')
        .withParams({ databases: ['puppetdb'], dump_files: { puppetdb: file } })
        .returns({ changed: true });
      spec.allowTask('record_job', { changed: true });
      const result = await spec.run(sync, {}, { noop });
      expect(result.status).toBe('success');
      // An exported runbook records its passes as a run does.
      expect(records(spec.calls)).toEqual(['p:sync_ca:success', 'r:receive_ca:success']);
    }
  });

  it('on PE tries every kind even when one fails, records the failure, and fails at the end naming it', async () => {
    const spec = planSpec(pair);
    spec.allowTask('discover', discovered('pe'));
    spec.allowTask('sync_ca', { changed: false });
    spec.allowTask('dump_nc', { error: 'the classifier answered 503' });
    spec.allowTask('restore_nc');
    spec.allowTask('dump_db', { changed: true });
    spec.allowTask('restore_db', { changed: true });
    spec.allowTask('copy_secrets', { changed: false });
    spec.allowTask('record_job', { changed: true });
    const result = await spec.run(sync);
    expect(result.status).toBe('failure');
    expect(result.steps.find((s) => s.name === 'report')?.error?.msg).toMatch(
      /Not carried to the replica: classification: .*503/,
    );
    expect(spec.calls.map((c) => c.task)).not.toContain('restore_nc');
    expect(records(spec.calls)).toEqual([
      'p:sync_ca:success',
      'r:receive_ca:success',
      'p:sync_classification:failure',
      'r:receive_classification:failure',
      'p:sync_rbac:success',
      'r:receive_rbac:success',
      'p:sync_orchestrator:success',
      'r:receive_orchestrator:success',
      'p:sync_secrets:success',
      'r:receive_secrets:success',
    ]);
  });
});
