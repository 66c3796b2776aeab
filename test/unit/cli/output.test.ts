/**
 * The CLI's output conventions: one --format parser, and JSON output scrubbed of every
 * registered secret exactly like human output.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { formatOption, parseFormat, printJson } from '../../../src/cli/output.js';
import { PefError } from '../../../src/errors/pef-error.js';
import { runTask } from '../../../src/task/run-task.js';
import { defineTask } from '../../../src/task/task.js';
import { registerSecret, Sensitive } from '../../../src/util/sensitive.js';
import { z } from 'zod';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

function captureStdout(fn: () => void): string {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('parseFormat', () => {
  it('accepts human and json and refuses anything else as a usage error naming the flag and the choices', () => {
    expect(parseFormat('human')).toBe('human');
    expect(parseFormat('json')).toBe('json');
    let error: unknown;
    try {
      parseFormat('yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PefError);
    expect(error).toMatchObject({ kind: 'pef/usage-error', exitCode: 1 });
    expect((error as Error).message).toBe('--format must be one of human, json, not "yaml".');
    expect(() => parseFormat('JSON')).toThrow(/not "JSON"/);
  });

  it('is what the shared --format option parses with', () => {
    const option = formatOption();
    expect(option.flags).toBe('--format <format>');
    expect(() => option.parseArg?.('xml', undefined)).toThrow(/--format must be one of human, json/);
  });
});

describe('printJson', () => {
  it('redacts a registered secret inside a task result value, as human output does', async () => {
    const secret = 'hunter2-json-leak-9c1e';
    registerSecret(secret);
    const leaky = defineTask({
      name: 'leaky',
      description: 'returns a secret it read from the host',
      supportsNoop: true,
      params: z.object({}),
      run: async (ctx) => ({ value: { token: (await ctx.read('cat /token')).stdout.trim() }, changed: false }),
    });
    const { runtime } = fakeRuntime([fakeTarget('a')], () => ({ stdout: `${secret}\n` }));
    const set = await runTask(runtime, leaky, [fakeTarget('a')], {});
    expect(set.find('a')?.value).toEqual({ token: secret });
    const out = captureStdout(() => printJson(set.toJSON()));
    expect(out).not.toContain(secret);
    expect(JSON.parse(out)).toMatchObject({ items: [{ target: 'a', value: { token: '[sensitive]' } }] });
  });

  it('redacts a secret that JSON escapes (quotes, backslashes) and leaves other text alone', () => {
    const secret = 'pa"ss\\word-77';
    void new Sensitive(secret);
    const out = captureStdout(() => printJson({ msg: `login with ${secret} failed`, other: 'plain' }));
    expect(out).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(JSON.parse(out)).toEqual({ msg: 'login with [sensitive] failed', other: 'plain' });
  });
});
