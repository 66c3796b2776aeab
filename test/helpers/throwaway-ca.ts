/**
 * Throwaway CAs and certificates made with openssl in a test's temp dir, for tests of TLS with
 * client certificates (the classifier stand-in and the curl commands pef runs against it).
 * Files are `<name>.pem` and `<name>.key` in `dir`.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA `<name>.pem`/`<name>.key`, valid two days. */
export function makeCa(dir: string, name = 'ca', cn = name): void {
  openssl(
    dir,
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
  );
}

/** A certificate `<name>.pem`/`<name>.key` for `cn`, signed by CA `ca`, with an optional subjectAltName (`IP:…,DNS:…`). */
export function issueCert(dir: string, name: string, cn: string, options: { ca?: string; san?: string } = {}): void {
  const ca = options.ca ?? 'ca';
  openssl(dir, 'req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  const ext =
    options.san === undefined
      ? []
      : (writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${options.san}\n`), ['-extfile', `${name}.ext`]);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    ...ext,
  );
}
