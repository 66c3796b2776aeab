import { describe, expect, it } from '@jest/globals';
import { PefError } from '../../../src/errors/pef-error.js';
import { checkCertname, checkHostname, checkPublicKey, pathWithin } from '../../../src/puppet/names.js';

const from = { server: 'replica', field: 'certname' };

describe('the trust boundary checks', () => {
  it('accept Puppet certnames and refuse path tricks, upper case and leading dots or dashes', () => {
    for (const ok of ['replica.lab', 'a', 'pe-replica_1.example.com', 'x'.repeat(253)])
      expect(checkCertname(ok, from)).toBe(ok);
    for (const bad of [
      '',
      '../../x',
      'a/b',
      'a..b',
      '.hidden',
      '-rf',
      'Replica.lab',
      'a b',
      'a;id',
      'x'.repeat(254),
      'a\nb',
    ]) {
      expect(() => checkCertname(bad, from)).toThrow(PefError);
    }
  });

  it('name the server, the field and the value, escaped, in a pef/untrusted-value error', () => {
    try {
      checkCertname('../x\u001b[31m', from);
      throw new Error('not refused');
    } catch (error) {
      expect(error).toMatchObject({ kind: 'pef/untrusted-value', details: { server: 'replica', field: 'certname' } });
      expect((error as Error).message).toContain('Refusing certname "../x\\u001b[31m" from replica');
    }
  });

  it('accept hostnames and IPv4 addresses, refuse shell metacharacters, user@ and ports', () => {
    for (const ok of ['replica.lab', 'REPLICA.example.com', '127.0.14.3', 'db-1'])
      expect(checkHostname(ok, from)).toBe(ok);
    for (const bad of ['a;touch /tmp/x', 'root@h', 'h:22', '-oProxyCommand=x', '$(id)', 'a..b', '', 'h\n']) {
      expect(() => checkHostname(bad, from)).toThrow(/Refusing certname/);
    }
  });

  it('confine a name to its directory', () => {
    expect(pathWithin('/ca/signed', 'r.pem', from)).toBe('/ca/signed/r.pem');
    for (const bad of ['../x.pem', 'a/b.pem', '..', '.', ''])
      expect(() => pathWithin('/ca/signed', bad, from)).toThrow(PefError);
  });

  it('take one public key line apart, refusing a second line', () => {
    expect(checkPublicKey('ssh-ed25519 AAAAC3Nz root@r\n', from)).toEqual({ type: 'ssh-ed25519', key: 'AAAAC3Nz' });
    expect(() => checkPublicKey('ssh-ed25519 AAAA\n[evil]:22 ssh-rsa BBBB', from)).toThrow(PefError);
    expect(() => checkPublicKey('ssh-ed25519 AA$A', from)).toThrow(PefError);
  });
});
