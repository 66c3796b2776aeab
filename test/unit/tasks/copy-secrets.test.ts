/**
 * copy_secrets on two "hosts" that are directories of this machine: the task's real shell
 * commands run under sh, with the host's root directory put in front of every path. Only the
 * PE probe, the mode/kill-switch read and the service manager are answered by the test.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandOptions } from '../../../src/transport/transport.js';
import { SERVICE_MANAGER_PROBE } from '../../../src/host/services.js';
import { replicationStateCommand } from '../../../src/puppet/mode.js';
import { peHostProbeCommand } from '../../../src/puppet/pe-infrastructure.js';
import { runTask } from '../../../src/task/run-task.js';
import { redact } from '../../../src/util/sensitive.js';
import {
  ancestorDirs,
  octalMode,
  parseSecretsProbe,
  planSecretCopy,
  readerOf,
  secretsProbeCommand,
  writeSecretCommand,
} from '../../../src/puppet/pe-secrets.js';
import { copySecrets } from '../../../tasks/copy-secrets.js';
import { fakeRuntime, fakeTarget } from '../../helpers/fake-runtime.js';

const ME = userInfo().username;
const MY_GROUP = spawnSync('id', ['-gn']).stdout.toString().trim();
const KEYS = '/etc/puppetlabs/orchestration-services/conf.d/secrets/keys.json';
const CONSOLE = '/etc/puppetlabs/console-services/conf.d/secrets/keys.json';
const HIERA = '/etc/puppetlabs/puppet/hiera.yaml';
const SECRET_VALUE = 'c2VjcmV0LWtleS1tYXRlcmlhbC1mb3ItdGVzdHMtb25seQ-primary';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pef-copy-secrets-'));
  // Each host's /etc/puppetlabs (PE is installed on both).
  for (const host of ['primary', 'replica']) mkdirSync(join(root, host, 'etc/puppetlabs'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Where `path` of `host` lives on this machine. */
const at = (host: string, path: string) => join(root, host, path);

function put(host: string, path: string, content: string, mode: number): void {
  mkdirSync(dirname(at(host, path)), { recursive: true, mode: 0o750 });
  writeFileSync(at(host, path), content);
  chmodSync(at(host, path), mode);
}

interface World {
  pe?: Record<string, boolean>;
  killSwitch?: string;
  running?: string[];
}

function handler(world: World) {
  const serviceCalls: string[] = [];
  return {
    serviceCalls,
    run: (target: string, command: string, options: CommandOptions) => {
      if (command === peHostProbeCommand({ certname: false }))
        return { stdout: world.pe?.[target] === false ? 'pe_version=\n' : 'pe_version=2023.8.0\n' };
      if (command === replicationStateCommand())
        return {
          stdout: world.killSwitch === target ? '--- pef mode\n--- pef kill-switch\nreason=drill\n' : '--- pef mode\n',
        };
      if (command === SERVICE_MANAGER_PROBE) return { stdout: 'lab\n' };
      const svc = /^pef-lab-service (\S+) (\S+)$/.exec(command);
      if (svc) {
        serviceCalls.push(`${target} ${svc[1]} ${svc[2]}`);
        return { exitCode: svc[1] === 'status' ? ((world.running ?? []).includes(svc[2] ?? '') ? 0 : 3) : 0 };
      }
      // Every /etc/puppetlabs path lands in this host's directory; a command that would still
      // touch the real one is refused.
      const hostDir = join(root, target, 'etc/puppetlabs');
      const local = command.replace(/\/etc\/puppetlabs(?=\/|[\s';)]|$)/g, hostDir);
      if (local.replaceAll(hostDir, '').includes('/etc/puppetlabs'))
        throw new Error(`test handler: unmapped path in ${command}`);
      const r = spawnSync('sh', ['-c', local], { input: options.stdin ?? '' });
      const back = (text: Buffer) => text.toString().replaceAll(hostDir, '/etc/puppetlabs');
      return { stdout: back(r.stdout), stderr: back(r.stderr), exitCode: r.status };
    },
  };
}

const targets = [fakeTarget('primary'), fakeTarget('replica')];
const params = (extra: Record<string, unknown> = {}) => ({
  replica: 'replica',
  files: [KEYS, CONSOLE, HIERA],
  optional: [HIERA],
  ...extra,
});

describe('copy_secrets', () => {
  it('copies differing files with the primary’s mode, creating missing parents, and then reports no change', async () => {
    put('primary', KEYS, `{"key":"${SECRET_VALUE}"}\n`, 0o640);
    put('primary', CONSOLE, 'console-secret-of-the-primary\n', 0o600);
    put('primary', HIERA, '# primary\nversion: 5\n', 0o644);
    put('replica', KEYS, '{"key":"the replica made its own"}\n', 0o644);
    const h = handler({});
    const { runtime, sent, events } = fakeRuntime(targets, h.run);

    const first = (await runTask(runtime, copySecrets, [targets[0]!], params())).find('primary')!;
    expect(first.error).toBeUndefined();
    expect(first.changed).toBe(true);
    for (const path of [KEYS, CONSOLE, HIERA])
      expect(readFileSync(at('replica', path), 'utf8')).toBe(readFileSync(at('primary', path), 'utf8'));
    expect(statSync(at('replica', KEYS)).mode & 0o7777).toBe(0o640);
    expect(statSync(at('replica', CONSOLE)).mode & 0o7777).toBe(0o600);
    // The console-services directories did not exist on the replica: made like the primary's.
    expect(statSync(dirname(at('replica', CONSOLE))).mode & 0o7777).toBe(0o750);
    expect(readdirSync(dirname(at('replica', KEYS)))).toEqual(['keys.json']);
    const files = first.value['files'] as Record<string, unknown>[];
    expect(files[0]).toMatchObject({
      path: KEYS,
      changed: true,
      action: 'copy',
      owner: ME,
      group: MY_GROUP,
      mode: '0640',
    });
    expect((files[0]?.['sha256'] as string).length).toBe(12);
    expect(files[1]).toMatchObject({
      action: 'copy',
      created_dirs: [
        '/etc/puppetlabs/console-services',
        '/etc/puppetlabs/console-services/conf.d',
        CONSOLE.replace(/\/keys\.json$/, ''),
      ],
    });

    // No content anywhere: commands, events, value.
    const everything = JSON.stringify({ sent, events, value: first.value });
    for (const content of [
      SECRET_VALUE,
      'console-secret-of-the-primary',
      Buffer.from('console-secret-of-the-primary\n').toString('base64'),
    ])
      expect(everything).not.toContain(content);
    // And the redactor now masks it, should it turn up in some output later.
    expect(redact(`x ${SECRET_VALUE} y`)).not.toContain(SECRET_VALUE);

    const second = (await runTask(runtime, copySecrets, [targets[0]!], params())).find('primary')!;
    expect(second).toMatchObject({ status: 'success', changed: false });
    expect((second.value['files'] as { action: string }[]).map((f) => f.action)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
  });

  it('fixes only owner/mode when the content is the same', async () => {
    put('primary', KEYS, 'same\n', 0o640);
    put('replica', KEYS, 'same\n', 0o666);
    const { runtime, sent } = fakeRuntime(targets, handler({}).run);
    const result = (await runTask(runtime, copySecrets, [targets[0]!], params({ files: [KEYS], optional: [] }))).find(
      'primary',
    )!;
    expect(result.value['files']).toEqual([expect.objectContaining({ action: 'attributes', changed: true })]);
    expect(statSync(at('replica', KEYS)).mode & 0o7777).toBe(0o640);
    expect(sent.some((s) => s.command.startsWith('base64'))).toBe(false);
  });

  it('in noop lists the write commands, reads no secret and changes nothing', async () => {
    put('primary', KEYS, 'noop-secret-content-0123456789\n', 0o640);
    put('replica', KEYS, 'old\n', 0o640);
    const { runtime, sent } = fakeRuntime(targets, handler({}).run, { noop: true });
    const result = (await runTask(runtime, copySecrets, [targets[0]!], params({ files: [KEYS], optional: [] }))).find(
      'primary',
    )!;
    expect(result.changed).toBe(true);
    const wouldRun = result.noop?.wouldRun ?? [];
    expect(wouldRun).toEqual([`replica: ${writeSecretCommand(KEYS, { owner: ME, group: MY_GROUP, mode: '640' }, [])}`]);
    expect(readFileSync(at('replica', KEYS), 'utf8')).toBe('old\n');
    expect(sent.some((s) => s.command.startsWith('base64 -w0'))).toBe(false);
  });

  it('stops before any change when a required file is missing on the primary, and skips an optional one', async () => {
    put('primary', KEYS, 'k\n', 0o640);
    const { runtime, sent } = fakeRuntime(targets, handler({}).run);
    const failed = (await runTask(runtime, copySecrets, [targets[0]!], params())).find('primary')!;
    expect(failed.error?.msg).toBe(
      `copy_secrets cannot copy from primary to replica:\n  - ${CONSOLE} does not exist on primary\nNothing was changed.`,
    );
    expect(existsSync(at('replica', KEYS))).toBe(false);
    expect(sent.some((s) => s.target === 'replica' && s.command.includes('base64 -d'))).toBe(false);

    const ok = (await runTask(runtime, copySecrets, [targets[0]!], params({ files: [KEYS, HIERA] }))).find('primary')!;
    expect(ok.error).toBeUndefined();
    expect(ok.value['files']).toEqual([
      expect.objectContaining({ path: KEYS, action: 'copy' }),
      { path: HIERA, changed: false, action: 'skip', note: 'not on primary; skipped (optional)' },
    ]);
  });

  it('refuses while the kill-switch is on at either end, and on a host that is not PE', async () => {
    put('primary', KEYS, 'k\n', 0o640);
    for (const end of ['primary', 'replica']) {
      const { runtime } = fakeRuntime(targets, handler({ killSwitch: end }).run);
      const r = (await runTask(runtime, copySecrets, [targets[0]!], params({ files: [KEYS], optional: [] }))).find(
        'primary',
      )!;
      expect(r.error?.msg).toMatch(
        new RegExp(`^copy_secrets refused: replication is switched off on ${end}.*Nothing was changed\\.$`, 's'),
      );
    }
    const { runtime } = fakeRuntime(targets, handler({ pe: { replica: false } }).run);
    const r = (await runTask(runtime, copySecrets, [targets[0]!], params({ files: [KEYS], optional: [] }))).find(
      'primary',
    )!;
    expect(r.error?.msg).toMatch(/replica is not PE/);
    expect(existsSync(at('replica', KEYS))).toBe(false);
  });

  it('restarts only the affected services that run, when asked; otherwise names them', async () => {
    put('primary', KEYS, 'k1\n', 0o640);
    put('primary', CONSOLE, 'c1\n', 0o640);
    const h = handler({ running: ['pe-console-services'] });
    const { runtime } = fakeRuntime(targets, h.run);
    const asked = (
      await runTask(
        runtime,
        copySecrets,
        [targets[0]!],
        params({ files: [KEYS, CONSOLE], optional: [], restart_services: true }),
      )
    ).find('primary')!;
    expect(asked.error).toBeUndefined();
    expect(asked.value).toMatchObject({ restarted: ['pe-console-services'], restart_needed: [] });
    expect(h.serviceCalls).toEqual([
      'replica status pe-orchestration-services',
      'replica status pe-console-services',
      'replica restart pe-console-services',
    ]);

    put('primary', CONSOLE, 'c2\n', 0o640);
    const notAsked = (
      await runTask(runtime, copySecrets, [targets[0]!], params({ files: [KEYS, CONSOLE], optional: [] }))
    ).find('primary')!;
    expect(notAsked.value).toMatchObject({ restarted: [], restart_needed: ['pe-console-services'] });
  });

  it('leaves the old file and no temp file when the write fails', async () => {
    put('primary', KEYS, 'new\n', 0o640);
    put('replica', KEYS, 'old\n', 0o640);
    const h = handler({});
    const { runtime } = fakeRuntime(targets, (target, command, options) =>
      // An owner the replica does not have: chown of the temp file fails.
      h.run(
        target,
        target === 'replica' ? command.replace(`chown -h ${ME}:${MY_GROUP}`, 'chown -h no-such-user-pef:x') : command,
        options,
      ),
    );
    const r = (await runTask(runtime, copySecrets, [targets[0]!], params({ files: [KEYS], optional: [] }))).find(
      'primary',
    )!;
    expect(r.error?.msg).toMatch(
      /^copy_secrets: writing \/etc\/puppetlabs\/.*keys\.json on replica failed: exited with 1: chown: invalid user[\s\S]*is as it was \(the temp file was removed\)\. No file was changed\./,
    );
    expect(readFileSync(at('replica', KEYS), 'utf8')).toBe('old\n');
    expect(readdirSync(dirname(at('replica', KEYS)))).toEqual(['keys.json']);
  });
});

describe('copy_secrets helpers', () => {
  it('list ancestor directories outermost first', () => {
    expect(ancestorDirs('/etc/a/b.json')).toEqual(['/etc', '/etc/a']);
    expect(ancestorDirs('/f')).toEqual([]);
  });

  it('probe digests and attributes without printing contents', () => {
    const dir = join(root, 'p');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'top-secret-content\n');
    chmodSync(join(dir, 'f'), 0o644);
    mkdirSync(join(dir, 'sub'));
    const out = spawnSync('sh', [
      '-c',
      secretsProbeCommand([join(dir, 'f'), join(dir, 'sub'), join(dir, 'none', 'g')]),
    ]).stdout.toString();
    expect(out).not.toContain('top-secret');
    const probe = parseSecretsProbe(out);
    const sha256 = createHash('sha256').update('top-secret-content\n').digest('hex');
    expect(probe.files.get(join(dir, 'f'))).toEqual({ kind: 'file', sha256, owner: ME, group: MY_GROUP, mode: '644' });
    expect(probe.files.get(join(dir, 'sub'))).toEqual({ kind: 'other' });
    expect(probe.files.get(join(dir, 'none', 'g'))).toEqual({ kind: 'missing' });
    expect(probe.dirs.get(join(dir, 'none'))).toBeNull();
    expect(probe.dirs.get(dir)).toMatchObject({ owner: ME });
  });

  it('plans: a different mode written as the same number is not a change; a directory in the way is a problem', () => {
    const file = (sha: string, mode: string) => ({
      kind: 'file' as const,
      sha256: sha.repeat(64),
      owner: 'o',
      group: 'g',
      mode,
    });
    const src = { files: new Map([['/a/f', file('a', '640')]]), dirs: new Map() };
    expect(
      planSecretCopy(
        ['/a/f'],
        [],
        src,
        { files: new Map([['/a/f', file('a', '0640')]]), dirs: new Map() },
        { source: 'p', dest: 'r' },
      ).plans[0]?.action,
    ).toBe('unchanged');
    expect(
      planSecretCopy(
        ['/a/f'],
        [],
        src,
        { files: new Map([['/a/f', { kind: 'other' }]]), dirs: new Map() },
        { source: 'p', dest: 'r' },
      ).problems,
    ).toEqual(['/a/f on r exists but is not a regular file; move it away']);
  });

  it('name the service reading each file', () => {
    expect(readerOf('/etc/puppetlabs/orchestration-services/conf.d/secrets/keys.json')).toEqual({
      service: 'pe-orchestration-services',
      action: 'restart',
    });
    expect(readerOf('/etc/puppetlabs/console-services/conf.d/secrets/keys.json')?.service).toBe('pe-console-services');
    expect(readerOf('/etc/puppetlabs/puppet/hiera.yaml')).toEqual({ service: 'pe-puppetserver', action: 'reload' });
    expect(readerOf('/etc/puppetlabs/puppet/hiera.yaml.bak')).toBeUndefined();
    expect(octalMode('640')).toBe('0640');
  });
});
