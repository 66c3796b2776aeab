import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certInfoCommand, parseCertInfo, PP_CLI_AUTH_OID } from '../../../src/puppet/certs.js';

describe('certificate inspection (real openssl)', () => {
  it('reads issuer, DNS names and pp_cli_auth from a certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pef-cert-'));
    try {
      const conf = join(dir, 'ext.cnf');
      writeFileSync(
        conf,
        `[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=DNS:replica.lab,DNS:puppet.lab\n${PP_CLI_AUTH_OID}=ASN1:UTF8String:true\n`,
      );
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(dir, 'k.pem'),
          '-out',
          join(dir, 'c.pem'),
          '-subj',
          '/CN=replica.lab',
          '-days',
          '1',
          '-config',
          conf,
          '-extensions',
          'ext',
        ],
        { stdio: 'ignore' },
      );
      const info = parseCertInfo(execFileSync('sh', ['-c', certInfoCommand(join(dir, 'c.pem'))], { encoding: 'utf8' }));
      expect(info).toEqual({
        exists: true,
        issuer: 'CN=replica.lab',
        subject: 'CN=replica.lab',
        dnsNames: ['replica.lab', 'puppet.lab'],
        cliAuth: true,
      });
      expect(
        parseCertInfo(execFileSync('sh', ['-c', certInfoCommand(join(dir, 'missing.pem'))], { encoding: 'utf8' }))
          .exists,
      ).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
