/**
 * Cancelling a run: after `cancel`, no target, step or command starts (they fail `pef/cancelled`),
 * a running command is handed the signal that kills it after the grace period, and cleanup
 * commands still run, with a bounded timeout instead of the signal.
 */
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { definePlan } from '../../../src/plan/plan.js';
import { runPlan, taskRegistry } from '../../../src/plan/run-plan.js';
import { Cancellation, CLEANUP_TIMEOUT_MS } from '../../../src/runtime/cancellation.js';
import { runTask } from '../../../src/task/run-task.js';
import { defineTask } from '../../../src/task/task.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

const targets = [fakeTarget('a', { role: 'primary' }), fakeTarget('b', { role: 'replica' })];

/** A task that runs `first`, then `second`, and `undo` in its cleanup whatever happened. */
const twoSteps = defineTask({
  name: 'two_steps',
  description: 'test',
  params: z.object({}),
  supportsNoop: false,
  async run(ctx) {
    ctx.atRisk('half done');
    try {
      await ctx.change('first');
      await ctx.change('second');
    } finally {
      await ctx.cleanup.change('undo');
    }
    return { changed: true };
  },
});

/** A task on `a` that changes its peer `b` and puts the peer back in its cleanup whatever happened. */
const peerChange = defineTask({
  name: 'peer_change',
  description: 'test',
  params: z.object({}),
  supportsNoop: false,
  async run(ctx) {
    const peer = await ctx.peer('b');
    try {
      await peer.change('stop service');
      await peer.change('swap files');
    } finally {
      await peer.cleanup.change('start service');
    }
    return { changed: true };
  },
});

describe('Cancellation', () => {
  it('aborts `signal` at once and `commandSignal` after the grace period', async () => {
    const c = new Cancellation(20);
    c.cancel('SIGINT');
    c.cancel('SIGTERM');
    expect(c.signal.aborted).toBe(true);
    expect(c.reason).toBe('SIGINT');
    expect(c.commandSignal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(c.commandSignal.aborted).toBe(true);
    expect(() => c.throwIfCancelled('x')).toThrow(expect.objectContaining({ kind: 'pef/cancelled' }));
  });

  it('a task: no command after the cancel but its cleanup, which runs with a timeout; nothing is left at risk', async () => {
    const cancellation = new Cancellation(0);
    const fake = fakeRuntime(
      [targets[0]!],
      (_t, command) => {
        if (command === 'first') cancellation.cancel('SIGINT');
        return {};
      },
      { cancellation },
    );
    const set = await runTask(fake.runtime, twoSteps, [targets[0]!], {});
    expect(set.results[0]?.error).toMatchObject({ kind: 'pef/cancelled', msg: expect.stringMatching(/`second` on a/) });
    expect(fake.sent.map((s) => s.command)).toEqual(['first', 'undo']);
    expect(fake.options[0]?.signal).toBe(cancellation.commandSignal);
    expect(fake.options[1]).toMatchObject({ timeoutMs: CLEANUP_TIMEOUT_MS });
    expect(fake.options[1]?.signal).toBeUndefined();
    expect(cancellation.attention()).toEqual([]);
  });

  it("a task's peer: no command after the cancel but the peer's cleanup, with its timeout", async () => {
    const cancellation = new Cancellation(0);
    const fake = fakeRuntime(
      targets,
      (_t, command) => {
        if (command === 'stop service') cancellation.cancel('SIGINT');
        return {};
      },
      { cancellation },
    );
    const set = await runTask(fake.runtime, peerChange, [targets[0]!], {});
    expect(set.results[0]?.error).toMatchObject({
      kind: 'pef/cancelled',
      msg: expect.stringMatching(/`swap files` on b/),
    });
    expect(fake.sent.map((s) => `${s.target}: ${s.command}`)).toEqual(['b: stop service', 'b: start service']);
    expect(fake.options[1]).toMatchObject({ timeoutMs: CLEANUP_TIMEOUT_MS });
  });

  it('the executor starts no further target after the cancel', async () => {
    const cancellation = new Cancellation(0);
    const fake = fakeRuntime(
      targets,
      () => {
        cancellation.cancel('SIGTERM');
        return {};
      },
      { cancellation, concurrency: 1 },
    );
    const set = await runTask(fake.runtime, twoSteps, targets, {});
    expect(fake.sent.filter((s) => s.target === 'b')).toEqual([]);
    expect(set.results[1]).toMatchObject({
      target: 'b',
      status: 'failure',
      error: { kind: 'pef/cancelled' },
      value: { state: 'not started: nothing was changed on this host' },
    });
  });

  it('a plan starts no further step after the cancel and says where to resume', async () => {
    const cancellation = new Cancellation(0);
    const ran: string[] = [];
    const plan = definePlan({
      name: 'demo',
      description: '',
      params: z.object({}),
      steps: ['one', 'two'].map((name) => ({
        name,
        description: name,
        async run() {
          ran.push(name);
          cancellation.cancel('SIGINT');
        },
      })),
    });
    const result = await runPlan(
      fakeRuntime(targets, () => ({}), { cancellation }).runtime,
      plan,
      {},
      { tasks: taskRegistry([]) },
    );
    expect(ran).toEqual(['one']);
    expect(result.status).toBe('failure');
    expect(result.error).toMatchObject({ kind: 'pef/cancelled', msg: expect.stringMatching(/--from two/) });
    expect(result.steps.map((s) => s.status)).toEqual(['success', 'not-run']);
  });

  it('remembers what each host needs if pef stops without cleanup', () => {
    const c = new Cancellation();
    c.atRisk('replica.lab', 'restore_db: puppetdb stopped');
    expect(c.attention()).toEqual(['replica.lab: restore_db: puppetdb stopped']);
    c.atRisk('replica.lab', undefined);
    expect(c.attention()).toEqual([]);
  });
});
