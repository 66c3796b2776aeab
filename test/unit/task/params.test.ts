import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { PefError } from '../../../src/errors/pef-error.js';
import { describeParams, parseParamWords, sensitiveString, validateParams } from '../../../src/task/params.js';
import { Sensitive } from '../../../src/util/sensitive.js';

const schema = z.object({
  name: z.string().describe('who'),
  count: z.number().int().default(3).describe('how many'),
  enabled: z.boolean().optional().describe('switch'),
  mode: z.enum(['active', 'passive']).optional().describe('mode'),
  token: sensitiveString('an API token').optional(),
});

const owner = { kind: 'task', name: 'demo' } as const;

function errorOf(fn: () => unknown): PefError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PefError) return error;
    throw error;
  }
  throw new Error('expected a PefError');
}

describe('parseParamWords', () => {
  it('reads non-string parameters as JSON and keeps strings as typed', () => {
    expect(parseParamWords(schema, ['name=42', 'count=7', 'enabled=true', 'mode=active'])).toEqual({
      name: '42',
      count: 7,
      enabled: true,
      mode: 'active',
    });
  });

  it('lets key=value words override --params', () => {
    expect(parseParamWords(schema, ['count=1'], { count: 9, name: 'x' })).toEqual({ count: 1, name: 'x' });
  });

  it('keeps an equals sign inside the value', () => {
    expect(parseParamWords(schema, ['name=a=b'])).toEqual({ name: 'a=b' });
  });

  it('refuses a word without key=', () => {
    const error = errorOf(() => parseParamWords(schema, ['oops']));
    expect(error.kind).toBe('pef/param-error');
    expect(error.message).toContain('key=value');
  });
});

describe('validateParams', () => {
  it('applies defaults and wraps sensitive values', () => {
    const out = validateParams(schema, { name: 'x', token: 's3cr3t-token' }, owner);
    expect(out.count).toBe(3);
    expect(out.token).toBeInstanceOf(Sensitive);
    expect(JSON.stringify(out)).not.toContain('s3cr3t-token');
  });

  it('names every bad parameter and the command that lists them', () => {
    const error = errorOf(() => validateParams(schema, { count: 'many', mode: 'sideways', extra: 1 }, owner));
    expect(error.kind).toBe('pef/param-error');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('unknown parameter "extra"');
    expect(error.message).toContain('parameter "name"');
    expect(error.message).toContain('parameter "count"');
    expect(error.message).toContain('parameter "mode"');
    expect(error.message).toContain('pef task show demo');
  });

  it('says a task takes no parameters when it has none', () => {
    const error = errorOf(() => validateParams(z.object({}), { x: 1 }, owner));
    expect(error.message).toContain('takes no parameters');
  });
});

describe('describeParams', () => {
  it('documents type, default, required and sensitive', () => {
    const docs = Object.fromEntries(describeParams(schema).map((d) => [d.name, d]));
    expect(docs['name']).toMatchObject({ type: 'string', required: true, description: 'who', sensitive: false });
    expect(docs['count']).toMatchObject({ type: 'integer', required: false, default: 3 });
    expect(docs['mode']).toMatchObject({ type: '"active" | "passive"', required: false });
    expect(docs['token']).toMatchObject({ sensitive: true, required: false, description: 'an API token' });
  });
});
