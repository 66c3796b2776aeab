import { describe, expect, it } from '@jest/globals';
import { EventBus, type RunEvent } from '../../../src/executor/events.js';
import { Executor, mapWithLimit } from '../../../src/executor/executor.js';
import { PefError } from '../../../src/errors/pef-error.js';
import { fakeTarget } from '../../helpers/fake-runtime.js';

const targets = ['a', 'b', 'c', 'd', 'e'].map((n) => fakeTarget(n));

describe('Executor', () => {
  it('gives exactly one result per target, in target order, whatever the action throws', async () => {
    const executor = new Executor(new EventBus(), 2);
    const set = await executor.run<{ name?: string }>('task', 't', targets, async (t) => {
      if (t.name === 'b') throw new PefError('pef/connect-failed', 'b is down');
      if (t.name === 'c') throw new TypeError('boom');
      if (t.name === 'd') return { value: {}, failed: new PefError('pef/task-failed', 'd reported failure') };
      return { value: { name: t.name }, changed: t.name === 'a' };
    });
    expect(set.targets).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(set.ok).toBe(false);
    expect(set.okSet().map((r) => r.target)).toEqual(['a', 'e']);
    expect(set.find('b')?.error).toEqual({ kind: 'pef/connect-failed', msg: 'b is down', details: {} });
    expect(set.find('c')?.error?.kind).toBe('pef/internal');
    expect(set.find('d')?.error?.kind).toBe('pef/task-failed');
    expect(set.find('a')?.changed).toBe(true);
  });

  it('never runs more than `concurrency` targets at once', async () => {
    const executor = new Executor(new EventBus(), 3);
    let inFlight = 0;
    let peak = 0;
    const many = Array.from({ length: 20 }, (_, i) => fakeTarget(`t${i}`));
    await executor.run('command', 'x', many, async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { value: {} };
    });
    expect(peak).toBe(3);
  });

  it('emits start and finish events for the action and each target', async () => {
    const bus = new EventBus();
    const seen: RunEvent['type'][] = [];
    bus.subscribe((e) => seen.push(e.type));
    bus.subscribe(() => {
      throw new Error('a broken renderer must not break the run');
    });
    const set = await new Executor(bus).run('task', 't', targets.slice(0, 2), async () => ({ value: {} }));
    expect(set.ok).toBe(true);
    expect(seen).toEqual([
      'action-start',
      'target-start',
      'target-start',
      'target-finish',
      'target-finish',
      'action-finish',
    ]);
  });

  it("serialises to Bolt's JSON shape", async () => {
    const set = await new Executor(new EventBus()).run<{ x?: number }>(
      'task',
      'demo',
      targets.slice(0, 2),
      async (t) =>
        t.name === 'a'
          ? { value: { x: 1 }, changed: false }
          : { value: {}, failed: new PefError('pef/task-failed', 'nope', { why: 1 }) },
    );
    const json = set.toJSON();
    expect(json.target_count).toBe(2);
    expect(typeof json.elapsed_time).toBe('number');
    expect(json.items).toEqual([
      { target: 'a', action: 'task', object: 'demo', status: 'success', changed: false, value: { x: 1 } },
      {
        target: 'b',
        action: 'task',
        object: 'demo',
        status: 'failure',
        value: {},
        error: { kind: 'pef/task-failed', msg: 'nope', details: { why: 1 } },
      },
    ]);
  });

  it('rejects a concurrency below 1', () => {
    expect(() => new Executor(new EventBus(), 0)).toThrow(RangeError);
  });
});

describe('mapWithLimit', () => {
  it('keeps input order', async () => {
    const out = await mapWithLimit([30, 10, 20], 3, async (ms) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    });
    expect(out).toEqual([30, 10, 20]);
  });
});
