import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PASSWORD_MARKER,
  databaseCheckCommand,
  ensureDatabaseCommand,
  healthCommand,
  isWildcardHost,
  parseDatabaseCheck,
  parseDatabaseIni,
  parseHostTls,
  puppetdbConfDirCandidates,
  redactedIniCommand,
  replicaDatabaseIni,
  replicaJettyIni,
  writeDatabaseIniCommand,
} from '../../../src/puppet/replica-servers.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'pef-replica-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const sh = (script: string, stdin = '') => spawnSync('sh', ['-c', script], { encoding: 'utf8', input: stdin });

// Debian's puppetdb package writes database.ini with a generated password.
const DEBIAN_INI = '[database]\nsubname = //localhost/puppetdb\nusername = puppetdb\npassword = CYY4E\'q$LM"FT\n';
const PRIMARY = parseDatabaseIni('[database]\nsubname = //primary.lab:5432/puppetdb\nusername = puppetdb\n')!;

describe("the replica's database.ini", () => {
  it('shows pef the file with the password replaced by a marker', () => {
    const ini = join(tempDir(), 'database.ini');
    writeFileSync(ini, DEBIAN_INI);
    const out = sh(redactedIniCommand(ini)).stdout;
    expect(out).toBe(
      `[database]\nsubname = //localhost/puppetdb\nusername = puppetdb\npassword = ${PASSWORD_MARKER}\n`,
    );
    expect(out).not.toContain('CYY4E');
    expect(sh(redactedIniCommand(join(tempDir(), 'missing.ini'))).stdout).toBe('');
  });

  it("points at the replica's own database: a named primary host becomes the replica's name, localhost stays", () => {
    const redacted = DEBIAN_INI.replace(/password = .*/, `password = ${PASSWORD_MARKER}`);
    const want = replicaDatabaseIni(redacted, PRIMARY, 'replica.lab');
    expect(parseDatabaseIni(want)).toEqual({
      host: 'replica.lab',
      port: 5432,
      database: 'puppetdb',
      username: 'puppetdb',
    });
    expect(replicaDatabaseIni(want, PRIMARY, 'replica.lab')).toBe(want);
    const local = parseDatabaseIni(DEBIAN_INI)!;
    expect(parseDatabaseIni(replicaDatabaseIni(redacted, local, 'replica.lab'))?.host).toBe('localhost');
  });

  it('writes the file with the password the host keeps, which never travels in the command or on stdin', () => {
    const dir = tempDir();
    const ini = join(dir, 'database.ini');
    writeFileSync(ini, DEBIAN_INI, { mode: 0o640 });
    const redacted = sh(redactedIniCommand(ini)).stdout;
    const command = writeDatabaseIniCommand(ini);
    const stdin = replicaDatabaseIni(redacted, PRIMARY, 'replica.lab');
    expect(command + stdin).not.toContain('CYY4E');
    expect(sh(command, stdin).status).toBe(0);
    expect(readFileSync(ini, 'utf8')).toBe(
      '[database]\nsubname = //replica.lab:5432/puppetdb\nusername = puppetdb\npassword = CYY4E\'q$LM"FT\n',
    );
  });

  it('makes a new random password when the file has none', () => {
    const ini = join(tempDir(), 'database.ini');
    writeFileSync(ini, '[database]\nsubname = //localhost/puppetdb\n');
    const stdin = replicaDatabaseIni(sh(redactedIniCommand(ini)).stdout, PRIMARY, 'replica.lab');
    expect(sh(writeDatabaseIniCommand(ini), stdin).status).toBe(0);
    expect(readFileSync(ini, 'utf8')).toMatch(/^password = [A-Za-z0-9]{24}$/m);
  });

  it('role, database and login are created and checked with the password read on the host', () => {
    const pg = { bin: '/usr/lib/postgresql/15/bin', superuser: 'postgres' };
    const ensure = ensureDatabaseCommand(pg, '/etc/puppetdb/conf.d/database.ini', PRIMARY);
    expect(ensure).toContain(`ALTER ROLE "puppetdb" WITH LOGIN PASSWORD '$pwq';`);
    expect(ensure).toContain('CREATE EXTENSION IF NOT EXISTS pg_trgm;');
    expect(databaseCheckCommand(pg, '/x.ini', PRIMARY)).toContain('PGPASSWORD="$pw"');
    expect(parseDatabaseCheck('role=1\ndatabase=1\ntrgm=\nlogin=0\n')).toEqual({
      role: true,
      database: true,
      trgm: false,
      login: false,
    });
  });
});

describe("the replica's PuppetDB and health", () => {
  it('adds TLS to jetty.ini with the certificate copies, keeping the clear-text settings', () => {
    const out = replicaJettyIni('[jetty]\nhost = 127.0.10.2\nport = 8080\n', '/etc/puppetdb', '127.0.10.2');
    expect(out).toBe(
      '[jetty]\nhost = 127.0.10.2\nport = 8080\nssl-host = 127.0.10.2\nssl-port = 8081\nssl-key = /etc/puppetdb/ssl/private.pem\nssl-cert = /etc/puppetdb/ssl/public.pem\nssl-ca-cert = /etc/puppetdb/ssl/ca.pem\n',
    );
    expect(isWildcardHost('0.0.0.0')).toBe(true);
    expect(isWildcardHost(undefined)).toBe(true);
    expect(isWildcardHost('127.0.10.1')).toBe(false);
  });

  it('looks for the PuppetDB conf dir where the flavor of Puppet keeps it first', () => {
    expect(puppetdbConfDirCandidates('/etc/puppet')).toEqual(['/etc/puppetdb', '/etc/puppetlabs/puppetdb']);
    expect(puppetdbConfDirCandidates('/etc/puppetlabs/puppet')[0]).toBe('/etc/puppetlabs/puppetdb');
  });

  it('reads the certificate paths and waits for each status URL', () => {
    const tls = parseHostTls('hostcert=/s/c.pem\nhostprivkey=/s/k.pem\nlocalcacert=/s/ca.pem\n')!;
    expect(parseHostTls('hostcert=/s/c.pem\n')).toBeNull();
    const cmd = healthCommand(tls, ['https://r.lab:8081', 'https://r.lab:8140'], 60);
    expect(cmd).toContain('--cert /s/c.pem --key /s/k.pem https://r.lab:8081/status/v1/simple');
    expect(cmd).toContain('echo "status.1=$s"');
  });
});
