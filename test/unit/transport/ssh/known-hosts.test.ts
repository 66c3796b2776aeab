import { describe, expect, it } from '@jest/globals';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  entryMatches,
  keyTypeOf,
  knownHostName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from '../../../../src/transport/ssh/known-hosts.js';

// An SSH public key blob: string type, then type-specific fields (random bytes suffice here).
function blob(type: string, body = randomBytes(32)): Buffer {
  const name = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(name.length);
  const bodyLen = Buffer.alloc(4);
  bodyLen.writeUInt32BE(body.length);
  return Buffer.concat([len, name, bodyLen, body]);
}
const line = (hosts: string, key: Buffer): string => `${hosts} ${keyTypeOf(key)} ${key.toString('base64')}`;
function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

const ed = blob('ssh-ed25519');
const ed2 = blob('ssh-ed25519');
const rsa = blob('ssh-rsa');
const ecdsa = blob('ecdsa-sha2-nistp256');

describe('parseKnownHosts', () => {
  it('reads plain, bracketed, hashed and marked lines with their line numbers, skipping junk', () => {
    const text = [
      '# comment',
      '',
      line('web1,10.0.0.1', ed),
      'garbage line',
      line('[db1]:2222', rsa),
      `@revoked ${line('old', ecdsa)}`,
      `bad ssh-ed25519 ${rsa.toString('base64')}`,
      line(hashed('h'), ecdsa),
    ].join('\n');
    const entries = parseKnownHosts(text, '/kh');
    expect(entries.map((e) => [e.line, e.hosts.slice(0, 10), e.keyType, e.marker])).toEqual([
      [3, 'web1,10.0.', 'ssh-ed25519', undefined],
      [5, '[db1]:2222', 'ssh-rsa', undefined],
      [6, 'old', 'ecdsa-sha2-nistp256', 'revoked'],
      [8, '|1|' + entries[3]?.hosts.slice(3, 10), 'ecdsa-sha2-nistp256', undefined],
    ]);
    expect(entries[0]?.file).toBe('/kh');
    expect(entries[0]?.key.equals(ed)).toBe(true);
  });
});

describe('entryMatches', () => {
  it('matches names case-insensitively, with wildcards and negation', () => {
    expect(entryMatches({ hosts: 'Web1,web2' }, 'web1')).toBe(true);
    expect(entryMatches({ hosts: '*.example.com,!bad.example.com' }, 'a.example.com')).toBe(true);
    expect(entryMatches({ hosts: '*.example.com,!bad.example.com' }, 'bad.example.com')).toBe(false);
    expect(entryMatches({ hosts: 'web?' }, 'web12')).toBe(false);
    expect(entryMatches({ hosts: '[10.0.0.1]:2222' }, knownHostName('10.0.0.1', 2222))).toBe(true);
    expect(entryMatches({ hosts: '10.0.0.1' }, knownHostName('10.0.0.1', 2222))).toBe(false);
  });

  it('matches hashed names by HMAC-SHA1, including [host]:port', () => {
    expect(entryMatches({ hosts: hashed('[127.0.0.1]:2222') }, '[127.0.0.1]:2222')).toBe(true);
    expect(entryMatches({ hosts: hashed('[127.0.0.1]:2222') }, '127.0.0.1')).toBe(false);
    expect(entryMatches({ hosts: '|1|broken' }, 'x')).toBe(false);
  });
});

describe('verifyHostKey', () => {
  const entries = parseKnownHosts(
    [
      line('web1', ed),
      line(hashed('[web2]:2200'), rsa),
      line('web3', ecdsa),
      `@revoked ${line('*', ed2)}`,
      line('web4', ed2),
    ].join('\n'),
    '/kh',
  );

  it('knows a host with the same key, plain or hashed', () => {
    expect(verifyHostKey(entries, 'web1', 22, ed)).toMatchObject({ status: 'match', entry: { line: 1 } });
    expect(verifyHostKey(entries, 'web2', 2200, rsa)).toMatchObject({ status: 'match', entry: { line: 2 } });
  });

  it('reports a changed key of a known type as a mismatch with its line', () => {
    expect(verifyHostKey(entries, 'web1', 22, blob('ssh-ed25519'))).toMatchObject({
      status: 'mismatch',
      entry: { file: '/kh', line: 1 },
    });
  });

  it('reports an unknown host, or a key type known_hosts has no entry for', () => {
    expect(verifyHostKey(entries, 'web9', 22, ed)).toEqual({ status: 'unknown', otherKeyTypes: [] });
    expect(verifyHostKey(entries, 'web2', 22, rsa)).toEqual({ status: 'unknown', otherKeyTypes: [] });
    expect(verifyHostKey(entries, 'web3', 22, ed)).toEqual({
      status: 'unknown',
      otherKeyTypes: ['ecdsa-sha2-nistp256'],
    });
  });

  it('refuses a revoked key even where it is also listed', () => {
    expect(verifyHostKey(entries, 'web4', 22, ed2)).toMatchObject({ status: 'revoked', entry: { line: 4 } });
  });

  it('works with real key blobs', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const real = blob('ssh-ed25519', raw);
    const parsed = parseKnownHosts(line('h', real), 'f');
    expect(verifyHostKey(parsed, 'h', 22, real).status).toBe('match');
  });
});

describe('preferredHostKeyAlgorithms', () => {
  it('lists the algorithms for the key types known for the host', () => {
    const entries = parseKnownHosts(
      [line('[h]:2222', rsa), line('[h]:2222', ed), line('other', ecdsa)].join('\n'),
      'f',
    );
    expect(preferredHostKeyAlgorithms(entries, 'h', 2222)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
    expect(preferredHostKeyAlgorithms(entries, 'h', 22)).toEqual([]);
  });
});
