/**
 * The CLI end to end against a real sshd on loopback: inventory in, Bolt-shaped JSON and exit
 * codes out, plan-level noop and resume hints, and a debug log without secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/run-cli.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';

let sshd: Sshd;
let dir: string;
const SECRET = 'not-a-real-sudo-password-5f3a';

beforeAll(async () => {
  sshd = await startSshd();
  dir = mkdtempSync(join(tmpdir(), 'pef-cli-'));
  const ssh = `{ host: ${sshd.host}, port: ${sshd.port}, user: root, private-key: ${sshd.privateKeyPath}, known-hosts: ${sshd.knownHostsFile} }`;
  writeFileSync(
    join(dir, 'inventory.yaml'),
    `# pef CLI test inventory
config:
  ssh: ${ssh}
groups:
  - name: servers
    targets:
      - name: primary.test
        vars: { role: primary }
      - name: replica.test
        alias: spare
        vars: { role: replica }
        config:
          ssh:
            sudo-password:
              _plugin: env_var
              var: PEF_TEST_SUDO_PASSWORD
  - name: broken
    targets:
      - name: down.test
        config: { ssh: { host: 127.0.20.9, port: 1, connect-timeout: 2 } }
`,
  );
  writeFileSync(join(dir, 'package.json'), '{"name":"cli-test"}');
}, 30_000);

afterAll(async () => {
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = { PEF_TEST_SUDO_PASSWORD: SECRET };

describe('pef task run', () => {
  it('runs a task over several targets and prints Bolt-shaped JSON only', async () => {
    const run = await runCli(
      ['task', 'run', 'check_connection', '-t', 'servers', 'expect_user=root', '--format', 'json'],
      { cwd: dir, env },
    );
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as {
      items: { target: string; status: string; changed: boolean; value: Record<string, string> }[];
      target_count: number;
    };
    expect(json.target_count).toBe(2);
    expect(json.items.map((i) => [i.target, i.status, i.changed])).toEqual([
      ['primary.test', 'success', false],
      ['replica.test', 'success', false],
    ]);
    expect(json.items[0]?.value['user']).toBe('root');
  });

  it('exits 2 and reports the down target as data, the others still run', async () => {
    const run = await runCli(['task', 'run', 'check_connection', '-t', 'primary.test,down.test', '--format', 'json'], {
      cwd: dir,
      env,
    });
    expect(run.code).toBe(2);
    const json = JSON.parse(run.stdout) as { items: { target: string; status: string; error?: { kind: string } }[] };
    expect(json.items.find((i) => i.target === 'primary.test')?.status).toBe('success');
    expect(json.items.find((i) => i.target === 'down.test')?.error?.kind).toBe('pef/connect-failed');
  });

  it('prints plain progress lines without a TTY', async () => {
    const run = await runCli(['task', 'run', 'check_connection', '-t', 'spare'], { cwd: dir, env });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('[replica.test] task check_connection: ok (no change)');
    expect(run.stdout).toContain('✓ replica.test (no change)');
  });

  it('exits 1 with a clear message for a bad parameter, an unknown task and a missing --targets', async () => {
    const bad = await runCli(['task', 'run', 'check_connection', '-t', 'all', 'expect_usr=root'], { cwd: dir, env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown parameter "expect_usr"');
    const unknown = await runCli(['task', 'run', 'no_such_task', '-t', 'all', '--format', 'json'], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ status: 'failure', error: { kind: 'pef/unknown-task' } });
    const noTargets = await runCli(['task', 'run', 'check_connection'], { cwd: dir });
    expect(noTargets.code).toBe(1);
    expect(noTargets.stderr).toContain('--targets');
  });

  it('exits 1 naming the variable when an env_var plugin has no value', async () => {
    const run = await runCli(['task', 'run', 'check_connection', '-t', 'replica.test'], {
      cwd: dir,
      env: { PEF_TEST_SUDO_PASSWORD: undefined },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('PEF_TEST_SUDO_PASSWORD');
    expect(run.stderr).not.toContain('    at ');
  });

  it('reads --params from a file and from stdin', async () => {
    writeFileSync(join(dir, 'params.json'), '{"expect_user":"nobody"}');
    const fromFile = await runCli(
      ['task', 'run', 'check_connection', '-t', 'primary.test', '--params', '@params.json', '--format', 'json'],
      { cwd: dir, env },
    );
    expect(fromFile.code).toBe(2);
    expect(fromFile.stdout).toContain('expected \\"nobody\\"');
    const fromStdin = await runCli(
      ['task', 'run', 'check_connection', '-t', 'primary.test', '--params', '-', '--format', 'json'],
      { cwd: dir, env, stdin: '{"expect_user":"root"}' },
    );
    expect(fromStdin.code).toBe(0);
  });
});

describe('pef plan run', () => {
  it('runs the preflight plan by role and writes a debug log with every command and no secret', async () => {
    const run = await runCli(
      ['plan', 'run', 'preflight', '--log-file', 'run.log', '--format', 'json', '-i', 'inventory.yaml'],
      { cwd: dir, env },
    );
    const text = run.stdout;
    // preflight connects to all targets, and down.test is down: step "connect" fails.
    expect(run.code).toBe(2);
    const json = JSON.parse(text) as {
      status: string;
      steps: { name: string; status: string }[];
      error: { msg: string };
    };
    expect(json.steps.map((s) => [s.name, s.status])).toEqual([
      ['roles', 'success'],
      ['connect', 'failure'],
    ]);
    expect(json.error.msg).toContain('pef plan run preflight --from connect');
    const log = readFileSync(join(dir, 'run.log'), 'utf8');
    expect(log).toContain('[primary.test] ran `');
    expect(log).toMatch(/exit=0 in \d+ms/);
    expect(log).not.toContain(SECRET);
    expect(text).not.toContain(SECRET);
  });

  it('resumes from a step with --from and rejects an unknown one', async () => {
    const resumed = await runCli(['plan', 'run', 'preflight', '--from', 'connect', '--format', 'json'], {
      cwd: dir,
      env,
    });
    expect((JSON.parse(resumed.stdout) as { steps: { status: string }[] }).steps[0]?.status).toBe('skipped');
    const bad = await runCli(['plan', 'run', 'preflight', '--from', 'nope'], { cwd: dir, env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('roles, connect');
  });

  it('writes default debug logs under .pef/logs', async () => {
    await runCli(['plan', 'run', 'preflight', '--noop'], { cwd: dir, env });
    expect(readdirSync(join(dir, '.pef', 'logs')).some((f) => /^pef-.*\.log$/.test(f))).toBe(true);
  });
});

describe('pef task/plan list and show, inventory show', () => {
  it('lists and shows tasks and plans, in human and JSON form', async () => {
    const list = await runCli(['task', 'list', '--format', 'json']);
    expect((JSON.parse(list.stdout) as { tasks: { name: string }[] }).tasks.map((t) => t.name)).toContain(
      'check_connection',
    );
    const show = await runCli(['task', 'show', 'check_connection']);
    expect(show.stdout).toContain('expect_user');
    const plans = await runCli(['plan', 'show', 'preflight', '--format', 'json']);
    expect((JSON.parse(plans.stdout) as { steps: { name: string }[] }).steps.map((s) => s.name)).toEqual([
      'roles',
      'connect',
    ]);
  });

  it('shows the inventory without secrets', async () => {
    const run = await runCli(['inventory', 'show', '--format', 'json'], { cwd: dir, env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('replica.test');
    expect(run.stdout).not.toContain(SECRET);
    const human = await runCli(['inventory', 'show', '-t', 'servers'], { cwd: dir, env });
    expect(human.stdout).toMatch(/primary\.test\s+primary\s+root@127\.0\.20\.1/);
  });

  it('shows inventory.example.yaml with an empty environment: no secret needed, the unset one a warning', async () => {
    const example = join(process.cwd(), 'inventory.example.yaml');
    const human = await runCli(['inventory', 'show', '-i', example], { cwd: dir, emptyEnv: true });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/puppet1\.example\.com\s+primary\s+ops@puppet1\.example\.com:22/);
    expect(human.stderr).toMatch(/warning: .*sudo-password: environment variable PEF_SUDO_PASSWORD is not set/);
    const json = await runCli(['inventory', 'show', '-i', example, '-t', 'primary', '--format', 'json'], {
      cwd: dir,
      emptyEnv: true,
      env: { PEF_SUDO_PASSWORD: SECRET },
    });
    expect(json.code).toBe(0);
    expect(json.stdout).not.toContain(SECRET);
    expect(JSON.parse(json.stdout)).toMatchObject({
      targets: [{ name: 'puppet1.example.com', config: { ssh: { sudoPassword: '[sensitive]' } } }],
      warnings: [],
    });
  });

  it('rejects an unknown --format on every command with exit 1, naming the flag and the choices', async () => {
    for (const args of [
      ['task', 'list'],
      ['task', 'show', 'check_connection'],
      ['task', 'run', 'check_connection', '-t', 'primary.test'],
      ['plan', 'list'],
      ['plan', 'show', 'preflight'],
      ['plan', 'run', 'preflight'],
      ['inventory', 'show'],
      ['lab', 'status', '--dir', join(dir, 'no-lab')],
    ]) {
      const run = await runCli([...args, '--format', 'yaml'], { cwd: dir, env });
      expect([args.join(' '), run.code]).toEqual([args.join(' '), 1]);
      expect(run.stderr).toContain('--format must be one of human, json, not "yaml"');
      expect(run.stdout).toBe('');
    }
  });

  it('rejects --targets on plan run: plans pick their targets by role', async () => {
    const run = await runCli(['plan', 'run', 'preflight', '-t', 'primary.test'], { cwd: dir, env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('pef plan run does not take --targets');
  });

  it('lab status exits 2 for a lab that is not healthy (1 stays for usage errors)', async () => {
    const run = await runCli(['lab', 'status', '--dir', join(dir, 'no-lab'), '--format', 'json'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ exists: false, healthy: false });
  });

  it('has --help with an example on every command', async () => {
    for (const args of [
      ['task', 'run'],
      ['task', 'show'],
      ['task', 'list'],
      ['plan', 'run'],
      ['plan', 'show'],
      ['plan', 'list'],
      ['inventory', 'show'],
      ['lab', 'up'],
    ]) {
      const run = await runCli([...args, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Example/);
    }
  });
});
