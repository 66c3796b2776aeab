import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import { redact, registerSecret, Sensitive } from '../../../src/util/sensitive.js';

describe('Sensitive', () => {
  it('never prints its value through String, JSON or inspect', () => {
    const secret = new Sensitive('hunter2-very-secret');
    const bag = { password: secret, nested: [secret] };
    expect(String(secret)).toBe('[sensitive]');
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the point: what a template makes of a secret
    expect(`${secret}`).toBe('[sensitive]');
    expect(JSON.stringify(bag)).toBe('{"password":"[sensitive]","nested":["[sensitive]"]}');
    expect(inspect(bag)).not.toContain('hunter2');
    expect(secret.unwrap()).toBe('hunter2-very-secret');
  });

  it('makes redact() scrub the secret from free text', () => {
    new Sensitive('tok-123456789');
    registerSecret('from-a-file-abcdef');
    expect(redact('Authorization: tok-123456789, key from-a-file-abcdef')).toBe(
      'Authorization: [sensitive], key [sensitive]',
    );
  });

  it('does not scrub very short values, which would shred the text', () => {
    new Sensitive('ab');
    expect(redact('about a bat')).toBe('about a bat');
  });
});
