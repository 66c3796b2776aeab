// The puppet PE stand-in wrapper as a real process: HOME, state and log in a temp dir, and a fake
// "real puppet" script that proves pass-through.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseInfraStatus, type InfraStatus } from '../../../src/puppet/pe-infra-status.js';

const SCRIPT = fileURLToPath(new URL('../../../src/lab/pe-standins/puppet-pe-standin.sh', import.meta.url));
const PASSWORD = 'lab-secret-pw-123';
let dir: string;
const calls: string[][] = [];

function env(host: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: join(dir, host, 'home'),
    PEF_PE_STANDIN_LOG: join(dir, 'standin.log'),
    PEF_PE_STANDIN_STATE: join(dir, host, 'pe-infra.json'),
    PEF_PE_STANDIN_REAL_PUPPET: join(dir, 'real-puppet'),
    PEF_PE_STANDIN_CERTNAME: `${host}.lab`,
    ...extra,
  };
}

/** The stand-in's status JSON, read by pef's one parser for PE's format. */
function infraStatus(host: string, extra: Record<string, string> = {}): InfraStatus {
  const r = puppet(host, ['infra', 'status', '--format', 'json'], '', extra);
  expect(r.code).toBe(0);
  return parseInfraStatus(r.stdout, host);
}

/** What `host` is in the installation, as pef reads it from the status. */
function roleOf(host: string, extra: Record<string, string> = {}): string {
  const status = infraStatus(host, extra);
  if (status.primary === `${host}.lab`) return 'primary';
  return status.replicas.some((r) => r.certname === `${host}.lab`) ? 'replica' : 'none';
}

function puppet(
  host: string,
  args: string[],
  input = '',
  extra: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  calls.push(args);
  const r = spawnSync(SCRIPT, args, { env: env(host, extra), input, encoding: 'utf8', cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pef-pe-standin-'));
  writeFileSync(join(dir, 'real-puppet'), '#!/bin/sh\necho "real puppet: $*"\nexit 3\n', { mode: 0o755 });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('puppet PE stand-in', () => {
  it('refuses provision without an RBAC token', () => {
    const r = puppet('primary', ['infrastructure', 'provision', 'replica', 'replica.lab', '--enable', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('No valid RBAC token found');
    expect(r.stderr).toContain('puppet access login');
    expect(existsSync(join(dir, 'primary', 'pe-infra.json'))).toBe(false);
  });

  it('access login reads the password from stdin, saves a 0600 token and never prints the password', () => {
    const r = puppet('primary', ['access', 'login', '--username', 'admin', '--lifetime', '1d'], `${PASSWORD}\n`);
    expect(r.code).toBe(0);
    const tokenFile = join(dir, 'primary', 'home', '.puppetlabs', 'token');
    expect(r.stdout.trim()).toBe(`Access token saved to: ${tokenFile}`);
    expect(r.stderr).toContain('stand-in, not Puppet Enterprise');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token).toMatch(/^[A-Za-z0-9]{20,}$/);
    const shown = puppet('primary', ['access', 'show']);
    expect(shown.stdout.trim()).toBe(token);
    for (const text of [r.stdout, r.stderr, readFileSync(join(dir, 'standin.log'), 'utf8')])
      expect(text).not.toContain(PASSWORD);
  });

  it('access login without a password on stdin fails', () => {
    const r = puppet('agent1', ['access', 'login'], '');
    expect(r.code).toBe(1);
    expect(existsSync(join(dir, 'agent1', 'home', '.puppetlabs', 'token'))).toBe(false);
  });

  it('provision with a token records the replica, and status JSON reflects it', () => {
    const r = puppet('primary', [
      'infrastructure',
      'provision',
      'replica',
      'replica.lab',
      '--enable',
      '--topology',
      'mono',
      '--yes',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('replica.lab is provisioned as a replica and enabled');
    // PE's JSON (an array of service entries): no label, no enabled flag, read by pef's PE parser.
    const raw = puppet('primary', ['infra', 'status', '--format', 'json']);
    expect(Array.isArray(JSON.parse(raw.stdout))).toBe(true);
    expect(raw.stdout).not.toContain('enabled');
    const status = infraStatus('primary');
    expect(status.primary).toBe('primary.lab');
    expect(status.replicas).toEqual([{ certname: 'replica.lab' }]);
    expect(status.services.filter((s) => s.server === 'replica.lab').map((s) => s.service)).toEqual([
      'pe-master',
      'puppetdb-status',
      'classifier-service',
      'rbac-service',
      'activity-service',
    ]);
    const human = puppet('primary', ['infrastructure', 'status', '--verbose']);
    expect(human.stdout).toContain('Replica: replica.lab');
    expect(human.stdout).toContain('not Puppet Enterprise');
  });

  it('accepts a --token-file instead of ~/.puppetlabs/token, and enable needs a provisioned replica', () => {
    writeFileSync(join(dir, 'token'), 'abc123\n', { mode: 0o600 });
    const unknown = puppet('agent1', [
      'infrastructure',
      'enable',
      'replica',
      'nope.lab',
      '--token-file',
      join(dir, 'token'),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('nope.lab is not a provisioned replica');
    expect(
      puppet('agent1', ['infrastructure', 'provision', 'replica', 'r2.lab', '--token-file', join(dir, 'token')]).code,
    ).toBe(0);
    expect(
      puppet('agent1', ['infrastructure', 'enable', 'replica', 'r2.lab', '--token-file', join(dir, 'token')]).code,
    ).toBe(0);
    const state = JSON.parse(readFileSync(join(dir, 'agent1', 'pe-infra.json'), 'utf8')) as {
      replicas: Record<string, { enabled: boolean }>;
    };
    expect(state.replicas['r2.lab']?.enabled).toBe(true);
  });

  it('promote replica on the replica makes it the primary; refuses on a primary and without --yes', () => {
    const replica = { PEF_PE_STANDIN_ROLE: 'replica', PEF_PE_STANDIN_PRIMARY: 'primary.lab' };
    expect(puppet('primary', ['infrastructure', 'promote', 'replica', '--yes']).code).toBe(1);
    const unconfirmed = puppet('replica', ['infrastructure', 'promote', 'replica'], '', replica);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain('--yes');
    const r = puppet('replica', ['infrastructure', 'promote', 'replica', '--yes'], '', replica);
    expect(r.code).toBe(0);
    expect(infraStatus('replica')).toMatchObject({ primary: 'replica.lab', replicas: [] });
  });

  it('reinitialize replica checks --db and runs only on a replica', () => {
    writeFileSync(join(dir, 'token'), 'abc123\n', { mode: 0o600 });
    const extra = { PEF_PE_STANDIN_ROLE: 'replica', PEF_PE_STANDIN_PRIMARY: 'primary.lab' };
    expect(
      puppet(
        'replica2',
        ['infrastructure', 'reinitialize', 'replica', '--db', 'pe-nonsense', '-y', '--token-file', join(dir, 'token')],
        '',
        extra,
      ).code,
    ).toBe(1);
    expect(
      puppet(
        'replica2',
        ['infrastructure', 'reinitialize', 'replica', '--db', 'pe-rbac', '-y', '--token-file', join(dir, 'token')],
        '',
        extra,
      ).code,
    ).toBe(0);
    expect(puppet('primary', ['infrastructure', 'reinitialize', 'replica', '-y']).code).toBe(1);
  });

  it('one shared state: provision on the primary makes the replica promotable, and roles follow the caller', () => {
    writeFileSync(join(dir, 'token'), 'abc123\n', { mode: 0o600 });
    const shared = { PEF_PE_STANDIN_STATE: join(dir, 'shared-infra.json') };
    // Seeded as `pef lab up` seeds it: the installation's primary is primary.lab.
    writeFileSync(
      shared.PEF_PE_STANDIN_STATE,
      JSON.stringify({ primary: 'primary.lab', replicas: {}, jobs: [], events: [] }),
    );
    const role = (host: string): string => roleOf(host, shared);
    expect(role('primary')).toBe('primary');
    expect(puppet('replica', ['infrastructure', 'promote', 'replica', '--yes'], '', shared).stderr).toContain(
      'not a replica',
    );
    expect(
      puppet(
        'primary',
        ['infrastructure', 'provision', 'replica', 'replica.lab', '--enable', '--token-file', join(dir, 'token')],
        '',
        shared,
      ).code,
    ).toBe(0);
    expect([role('primary'), role('replica')]).toEqual(['primary', 'replica']);
    expect(puppet('replica', ['infrastructure', 'promote', 'replica', '--yes'], '', shared).code).toBe(0);
    expect([role('primary'), role('replica')]).toEqual(['none', 'primary']);
  });

  it('forget removes the replica from the state', () => {
    const r = puppet('primary', ['infrastructure', 'forget', 'replica.lab']);
    expect(r.code).toBe(0);
    expect(infraStatus('primary').replicas).toEqual([]);
    expect(puppet('primary', ['infrastructure', 'forget', 'replica.lab']).stdout).toContain('nothing to forget');
  });

  it('job run records and prints increasing job ids', () => {
    const first = puppet('primary', [
      'job',
      'run',
      '--query',
      'nodes {deactivated is null}',
      '--no-enforce-environment',
    ]);
    const second = puppet('primary', ['job', 'run', '--nodes', 'agent1.lab']);
    expect(first.stdout).toContain('New job ID: 1');
    expect(second.stdout).toContain('New job ID: 2');
    expect(puppet('primary', ['job', 'run']).code).toBe(1);
  });

  it('exits 1 with a usage message on unknown PE subcommands', () => {
    for (const args of [
      ['infrastructure', 'explode'],
      ['access', 'nope'],
      ['job', 'show', '1'],
      ['infra', 'provision', 'compiler', 'c.lab'],
    ]) {
      const r = puppet('primary', args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Usage');
    }
  });

  it('passes other subcommands to the real puppet with their arguments and exit code', () => {
    const r = puppet('primary', ['agent', '--version']);
    expect(r.stdout.trim()).toBe('real puppet: agent --version');
    expect(r.code).toBe(3);
    const self = puppet('primary', ['agent', '-t'], '', { PEF_PE_STANDIN_REAL_PUPPET: SCRIPT });
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('is this stand-in itself');
  });

  it('logs every call as one JSON line with time, argv, uid and cwd', () => {
    const lines = readFileSync(join(dir, 'standin.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; argv: string[]; uid: number; cwd: string });
    expect(lines.map((l) => l.argv)).toEqual(calls);
    for (const line of lines) {
      expect(Number.isNaN(Date.parse(line.time))).toBe(false);
      expect(line.uid).toBe(process.getuid?.());
      expect(line.cwd).toBe(dir);
    }
  });
});
