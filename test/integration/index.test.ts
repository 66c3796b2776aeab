/**
 * `import('pef')` as a runbook script does it, in a fresh Node process from the repository
 * (package.json "name" + "exports" self-reference): it exposes the documented names, and
 * importing runs nothing: no output, no signal handler, no exit code, no open handle, and none
 * of the heavy modules (ssh client, progress, prompts, CLI parser); and a bundled task runs
 * through it by name. Needs `npm run build`.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

// A module hook (Node's register API) that reports every module the process resolves.
const hook = `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('RESOLVED ' + r.url + '\\n'); return r; }`;
const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;

function node(args: string[], script: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...args, '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', CI: 'true', ...env },
    timeout: 30_000,
  });
}

describe("import('pef')", () => {
  it('prints nothing, sets no exit code and exits by itself', () => {
    const run = node([], "await import('pef');");
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
  });

  it('exposes the documented names and leaves no handle, listener or exit code behind', () => {
    const run = node(
      [],
      `const events = ['SIGINT', 'SIGTERM', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection'];
       // Node itself listens to 'exit' while a top-level await is pending: count what the import adds.
       const before = events.map((e) => process.listenerCount(e));
       const m = await import('pef');
       await new Promise((r) => setImmediate(r));
       const report = {
         names: Object.keys(m).sort(),
         handles: process.getActiveResourcesInfo(),
         listeners: events.map((e, i) => process.listenerCount(e) - before[i]),
         exitCode: process.exitCode ?? null,
         tasks: m.TASKS.length,
         version: m.VERSION,
       };
       process.stdout.write(JSON.stringify(report));`,
    );
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(report).toEqual({
      names: [
        'NonInteractivePrompter',
        'PLANS',
        'PefError',
        'ResultSet',
        'TASKS',
        'VERSION',
        'createRuntime',
        'definePlan',
        'defineTask',
        'loadInventory',
      ],
      handles: [],
      listeners: [0, 0, 0, 0, 0, 0],
      exitCode: null,
      tasks: expect.any(Number) as unknown,
      version: (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version,
    });
    expect(report['tasks']).toBeGreaterThan(0);
  });

  it('loads no ssh client, progress renderer, prompt library or CLI parser, also when a runtime is created', () => {
    const run = node(
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`],
      `const { createRuntime } = await import('pef');
       const pef = createRuntime({ inventory: 'inventory.yaml', format: 'json' });
       await pef.close();`,
    );
    expect(run.status).toBe(0);
    const loaded = run.stderr.split('\n').filter((l) => l.startsWith('RESOLVED '));
    // The hook proves itself: it saw the package's entry point through the self-reference.
    expect(loaded.some((l) => l.endsWith('/dist/src/index.js'))).toBe(true);
    expect(loaded.filter((l) => /node-ssh|ssh2|listr2|@inquirer|commander|\/dist\/src\/cli\//.test(l))).toEqual([]);
  });

  it('runs a bundled task by name as a runbook script does, with Bolt-shaped JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pef-import-'));
    try {
      const inventory = join(dir, 'inventory.yaml');
      writeFileSync(inventory, 'targets:\n  - name: here\n    config: { transport: local }\n');
      const run = node(
        [],
        `import { createRuntime } from 'pef';
         const pef = createRuntime({ inventory: process.env.INV, format: 'json' });
         try {
           const set = await pef.runTask('check_connection', 'all');
           process.stdout.write(JSON.stringify(set.toJSON()));
         } finally {
           await pef.close();
         }`,
        { INV: inventory },
      );
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        items: [
          {
            target: 'here',
            action: 'task',
            object: 'check_connection',
            status: 'success',
            value: { user: userInfo().username },
          },
        ],
        target_count: 1,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves its types where package.json says', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
      name: string;
      exports: { '.': { types: string; import: string } };
    };
    expect(pkg.name).toBe('pef');
    expect(readFileSync(`${root}${pkg.exports['.'].types}`, 'utf8')).toContain('createRuntime');
    expect(readFileSync(`${root}${pkg.exports['.'].import}`, 'utf8')).toContain('createRuntime');
  });
});
