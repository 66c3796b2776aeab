import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { PefError } from '../../../src/errors/pef-error.js';
import { runTask } from '../../../src/task/run-task.js';
import { runTimeValue } from '../../../src/task/run-time-value.js';
import { defineTask } from '../../../src/task/task.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

// A file-ensuring task, idempotent the way real tasks are: read first, change only if needed.
const ensureLine = defineTask({
  name: 'ensure_line',
  description: 'test task',
  params: z.object({ line: z.string() }),
  supportsNoop: true,
  async run(ctx) {
    const current = await ctx.read('cat /etc/demo', { okExitCodes: [0, 1] });
    if (current.stdout.includes(ctx.params.line)) return { changed: false };
    await ctx.change(`echo '${ctx.params.line}' >> /etc/demo`);
    return { changed: true, value: { added: ctx.params.line } };
  },
});

function hostWithFile(initial: Record<string, string>) {
  const files = { ...initial };
  return {
    files,
    handler: (target: string, command: string) => {
      if (command === 'cat /etc/demo')
        return files[target] === undefined ? { exitCode: 1, stderr: 'No such file' } : { stdout: files[target] };
      const m = /^echo '(.*)' >> \/etc\/demo$/.exec(command);
      if (m) {
        files[target] = (files[target] ?? '') + `${m[1]}\n`;
        return {};
      }
      return { exitCode: 127, stderr: `unexpected: ${command}` };
    },
  };
}

describe('runTask', () => {
  it('changes what is missing and reports changed: false on the second run', async () => {
    const host = hostWithFile({ b: 'hello\n' });
    const { runtime } = fakeRuntime([fakeTarget('a'), fakeTarget('b')], host.handler);
    const first = await runTask(runtime, ensureLine, [fakeTarget('a'), fakeTarget('b')], { line: 'hello' });
    expect(first.results.map((r) => [r.target, r.changed])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    expect(host.files['a']).toBe('hello\n');
    const second = await runTask(runtime, ensureLine, [fakeTarget('a'), fakeTarget('b')], { line: 'hello' });
    expect(second.results.every((r) => r.changed === false)).toBe(true);
  });

  it('in noop runs reads, records changes, and changes nothing', async () => {
    const host = hostWithFile({});
    const { runtime, sent, events } = fakeRuntime([fakeTarget('a')], host.handler, { noop: true });
    const set = await runTask(runtime, ensureLine, [fakeTarget('a')], { line: 'x' });
    expect(host.files['a']).toBeUndefined();
    expect(sent.map((s) => s.command)).toEqual(['cat /etc/demo']);
    // The task's value is its own; what noop recorded sits beside it (JSON `_noop`, `_would_run`).
    expect(set.find('a')?.value).toEqual({ added: 'x' });
    expect(set.find('a')?.noop).toEqual({ wouldRun: ["echo 'x' >> /etc/demo"] });
    expect(set.toJSON().items[0]).toMatchObject({
      value: { added: 'x' },
      _noop: true,
      _would_run: ["echo 'x' >> /etc/demo"],
    });
    expect(events).toContainEqual({ type: 'noop-command', target: 'a', command: "echo 'x' >> /etc/demo" });
  });

  it("never sends a dry run's run-time placeholder: the task fails before the command", async () => {
    const careless = defineTask({
      name: 'careless',
      description: 'test task',
      params: z.object({}),
      supportsNoop: true,
      async run(ctx) {
        await ctx.change(`echo ${runTimeValue('token')} >> /etc/demo`);
        return { changed: true };
      },
    });
    const { runtime, sent } = fakeRuntime([fakeTarget('a')], () => ({}));
    const set = await runTask(runtime, careless, [fakeTarget('a')], {});
    expect(set.find('a')?.error).toMatchObject({ kind: 'pef/internal' });
    expect(sent).toEqual([]);
  });

  it('refuses noop for a task that cannot preview', async () => {
    const task = defineTask({
      name: 'raw',
      description: '',
      params: z.object({}),
      supportsNoop: false,
      run: async () => ({ changed: true }),
    });
    const { runtime } = fakeRuntime([fakeTarget('a')], () => ({}), { noop: true });
    await expect(runTask(runtime, task, [fakeTarget('a')], {})).rejects.toMatchObject({ kind: 'pef/param-error' });
  });

  it('turns a failing command into a failure result naming the command, exit code and stderr', async () => {
    const task = defineTask({
      name: 'breaks',
      description: '',
      params: z.object({}),
      supportsNoop: true,
      async run(ctx) {
        await ctx.read('false-ish');
        return { changed: false };
      },
    });
    const { runtime } = fakeRuntime([fakeTarget('a')], () => ({ exitCode: 3, stderr: 'line1\nthe real reason' }));
    const set = await runTask(runtime, task, [fakeTarget('a')], {});
    const error = set.find('a')?.error;
    expect(error?.kind).toBe('pef/command-failed');
    expect(error?.msg).toContain('`false-ish` exited with 3');
    expect(error?.msg).toContain('the real reason');
    expect(error?.details['exitCode']).toBe(3);
  });

  it('reports a target whose connection fails without affecting the others', async () => {
    const { runtime } = fakeRuntime([fakeTarget('a'), fakeTarget('down')], (target) => {
      if (target === 'down') throw new PefError('pef/connect-failed', 'down: connection refused');
      return { stdout: 'hello\n' };
    });
    const set = await runTask(runtime, ensureLine, [fakeTarget('a'), fakeTarget('down')], { line: 'hello' });
    expect(set.find('a')?.status).toBe('success');
    expect(set.find('down')?.error?.kind).toBe('pef/connect-failed');
  });

  it('validates params before touching any target', async () => {
    const { runtime, sent } = fakeRuntime([fakeTarget('a')]);
    await expect(runTask(runtime, ensureLine, [fakeTarget('a')], { line: 5 })).rejects.toMatchObject({
      kind: 'pef/param-error',
    });
    expect(sent).toEqual([]);
  });

  it('runs commands on a peer target over its own connection, and records them under its name in noop', async () => {
    const copy = defineTask({
      name: 'copy_to_peer',
      description: '',
      params: z.object({ to: z.string() }),
      supportsNoop: true,
      async run(ctx) {
        const data = await ctx.read('cat /data');
        const peer = await ctx.peer(ctx.params.to);
        await peer.change(`write ${data.stdout.trim()}`);
        return { changed: true, value: { peer: peer.target.name } };
      },
    });
    const targets = [fakeTarget('p'), fakeTarget('r')];
    const live = fakeRuntime(targets, (_t, command) => (command === 'cat /data' ? { stdout: 'x\n' } : {}));
    const set = await runTask(live.runtime, copy, [targets[0]!], { to: 'r' });
    expect(set.ok).toBe(true);
    expect(live.sent).toEqual([
      { target: 'p', command: 'cat /data' },
      { target: 'r', command: 'write x' },
    ]);
    const dry = fakeRuntime(targets, (_t, command) => (command === 'cat /data' ? { stdout: 'x\n' } : {}), {
      noop: true,
    });
    const preview = await runTask(dry.runtime, copy, [targets[0]!], { to: 'r' });
    expect(dry.sent).toEqual([{ target: 'p', command: 'cat /data' }]);
    expect(preview.find('p')?.noop?.wouldRun).toEqual(['r: write x']);
    await expect(
      runTask(live.runtime, copy, [targets[0]!], { to: 'nowhere' }).then((s) => s.find('p')?.error?.kind),
    ).resolves.toBe('pef/unknown-target');
  });
});
