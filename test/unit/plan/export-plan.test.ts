/**
 * The export end to end on the controller: a plan whose hosts are `local` targets is dry-run
 * through createRuntime (the local transport runs its probes for real), written as bash, checked
 * with bash -n and then run with bash. What the script does must be what `runPlan` does: the
 * same files with the same bytes (input with and without a final newline, a line that looks like
 * the heredoc's end), secrets read from the environment, stops where a command needs run-time input.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Target } from '../../../src/inventory/target.js';
import { exportPlan } from '../../../src/plan/export-plan.js';
import { definePlan } from '../../../src/plan/plan.js';
import { renderRunbook } from '../../../src/plan/runbook-script.js';
import { createRuntime } from '../../../src/runtime/create-runtime.js';
import { sensitiveString } from '../../../src/task/params.js';
import { runTimeValue } from '../../../src/task/run-time-value.js';
import { defineTask } from '../../../src/task/task.js';
import { shQuote } from '../../../src/util/shell-quote.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pef-export-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function localTarget(name: string, role: string): Target {
  return {
    name,
    aliases: [],
    groups: [],
    vars: { role },
    facts: {},
    config: {
      transport: 'local',
      ssh: { host: 'localhost', port: 22, user: 'root', hostKeyCheck: true, connectTimeout: 10 },
    },
  };
}

const targets = [localTarget('primary.test', 'primary'), localTarget('replica.test', 'replica')];
const inventory = {
  resolve: async (spec: string | readonly string[]) => {
    const names = typeof spec === 'string' ? spec.split(',') : spec;
    return targets.filter((t) => names.includes(t.name));
  },
  targetsWithRole: (role: string) => targets.filter((t) => t.vars['role'] === role),
};

// Writes `content` to `file` unless it already holds it (a probe, then a change with stdin).
const writeFile = defineTask({
  name: 'write_file',
  description: '',
  params: z.object({ file: z.string(), content: z.string() }),
  supportsNoop: true,
  async run(ctx) {
    const have = await ctx.read(`cat ${shQuote(ctx.params.file)} 2>/dev/null || true`);
    if (have.stdout === ctx.params.content) return { changed: false, value: { same: true } };
    await ctx.change(`cat > ${shQuote(ctx.params.file)}`, { stdin: ctx.params.content });
    return { changed: true, value: { same: false } };
  },
});

// Hands a secret to the host on stdin, as `puppet access login` gets its password.
const login = defineTask({
  name: 'login',
  description: '',
  params: z.object({ file: z.string(), password: sensitiveString('the password') }),
  supportsNoop: true,
  async run(ctx) {
    await ctx.change(`umask 077; cat > ${shQuote(ctx.params.file)}`, {
      stdin: `user=admin\npassword=${ctx.params.password.unwrap()}\n`,
    });
    return { changed: true };
  },
});

const copySecret = defineTask({
  name: 'copy_secret',
  description: '',
  params: z.object({ file: z.string() }),
  supportsNoop: true,
  async run(ctx) {
    await ctx.change(`cat > ${shQuote(ctx.params.file)}`, { runTimeInput: 'the key read on the primary' });
    return { changed: true };
  },
});

function plan(files: { a: string; b: string; c: string; secret: string; key: string }) {
  return definePlan({
    name: 'demo',
    description: 'writes files',
    params: z.object({ password: sensitiveString('a password'), with_key: z.boolean().default(false) }),
    steps: [
      {
        name: 'files',
        description: 'three files on the replica',
        async run(ctx) {
          const [replica] = await ctx.targets('replica');
          ctx.log('checking the files');
          await ctx.runTask(writeFile, [replica!], { file: files.a, content: 'line one\nPEF_INPUT\n$HOME `x` \\n\n' });
          await ctx.runTask(writeFile, [replica!], { file: files.b, content: "no newline at the end, 'quoted'" });
          await ctx.runTask(writeFile, [replica!], { file: files.c, content: 'already there\n' });
        },
      },
      {
        name: 'secret',
        description: 'a password on stdin',
        async run(ctx) {
          const [primary] = await ctx.targets('primary');
          await ctx.runTask(login, [primary!], { file: files.secret, password: ctx.params.password.unwrap() });
        },
      },
      {
        name: 'key',
        description: 'input only a real run has',
        async run(ctx) {
          if (!ctx.params.with_key) return;
          const [replica] = await ctx.targets('replica');
          await ctx.runTask(copySecret, [replica!], { file: files.key });
        },
      },
    ],
  });
}

async function exported(params: Record<string, unknown>) {
  const files = {
    a: join(dir, 'a'),
    b: join(dir, 'b'),
    c: join(dir, 'c'),
    secret: join(dir, 'secret'),
    key: join(dir, 'key'),
  };
  writeFileSync(files.c, 'already there\n');
  const def = plan(files);
  const pef = createRuntime({ inventory, format: 'json', tasks: [writeFile, login, copySecret], plans: [def] });
  try {
    const doc = await exportPlan(pef, def, params, {
      inventory: '/etc/pef/inventory.yaml',
      now: new Date('2026-12-03T07:00:00Z'),
    });
    return { files, script: renderRunbook(doc) };
  } finally {
    await pef.close();
  }
}

function bash(script: string, env: Record<string, string> = {}) {
  const file = join(dir, 'runbook.sh');
  writeFileSync(file, script);
  return spawnSync('bash', [file], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, ...env },
  });
}

describe('pef plan export', () => {
  it('writes a bash -n clean runbook that, run, leaves the files a plan run would', async () => {
    const { files, script } = await exported({ password: 'correct-horse-battery' });
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
    // Nothing changed by the export itself.
    expect(existsSync(files.a)).toBe(false);
    expect(script).toMatch(
      /^#!\/usr\/bin\/env bash\n# pef runbook: plan demo — writes files\n# Exported 2026-12-03T07:00:00.000Z by pef .* from the inventory \/etc\/pef\/inventory.yaml\n/,
    );
    expect(script).toContain('THIS SCRIPT CHANGES HOSTS: replica.test, primary.test.');
    expect(script).toContain('set -euo pipefail');
    expect(script).toContain('# Step 1/3: files — three files on the replica');
    expect(script).toContain('# found: checking the files');
    expect(script).toContain('# found: write_file on replica.test (no change): {"same":true}');
    // The unchanged file is not written; the other two are.
    expect(script.match(/on_replica_test .*cat >/g)).toHaveLength(2);
    if (process.env['PEF_SHOW_RUNBOOK']) process.stderr.write(script);

    const run = bash(script, { PEF_SECRET_PASSWORD: 'correct-horse-battery' });
    expect(run.stderr).toContain('pef: runbook of plan demo done');
    expect(run.status).toBe(0);
    expect(readFileSync(files.a, 'utf8')).toBe('line one\nPEF_INPUT\n$HOME `x` \\n\n');
    expect(readFileSync(files.b, 'utf8')).toBe("no newline at the end, 'quoted'");
    expect(readFileSync(files.secret, 'utf8')).toBe('user=admin\npassword=correct-horse-battery\n');
  });

  it('never writes a secret: it becomes a variable the script requires before it changes anything', async () => {
    const { files, script } = await exported({ password: 'correct-horse-battery' });
    expect(script).not.toContain('correct-horse-battery');
    expect(script).toContain(': "${PEF_SECRET_PASSWORD:?set PEF_SECRET_PASSWORD to the plan parameter password');
    expect(script).toContain('# Parameters: {"password":"[sensitive]"}');
    const run = bash(script);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('PEF_SECRET_PASSWORD');
    expect(existsSync(files.a)).toBe(false);
  });

  it('stops where a command needs input only a real run has, naming how to finish', async () => {
    const { files, script } = await exported({ password: 'correct-horse-battery', with_key: true });
    expect(script).toContain('# NOT EXPORTABLE: replica.test: the next command needs the key read on the primary');
    const run = bash(script, { PEF_SECRET_PASSWORD: 'correct-horse-battery' });
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('finish with: pef plan run demo --from key');
    expect(existsSync(files.key)).toBe(false);
    expect(readFileSync(files.a, 'utf8')).toContain('line one');
  });

  it('carries a value a change prints to the later commands that need it, checked first', async () => {
    // As restore_db's copy prints the checksum its swap marks the database with: the dry run
    // never sees the value, so the later command holds a placeholder the runbook fills in.
    const made = join(dir, 'made');
    const used = join(dir, 'used');
    const mint = defineTask({
      name: 'mint',
      description: '',
      params: z.object({ make: z.string() }),
      supportsNoop: true,
      async run(ctx) {
        const capture = { name: 'token', pattern: '[0-9a-f]{8}', what: 'the new token' };
        const out = await ctx.change(`${ctx.params.make} | tee ${shQuote(made)}`, { capture });
        const token = out?.stdout.trim() ?? runTimeValue('token');
        await ctx.change(`printf 'token=%s\\n' ${token} > ${shQuote(used)}`);
        return { changed: true };
      },
    });
    const minting = definePlan({
      name: 'minting',
      description: '',
      params: z.object({ make: z.string() }),
      steps: [
        {
          name: 'mint',
          description: '',
          async run(ctx) {
            await ctx.runTask(mint, await ctx.targets('replica'), { make: ctx.params.make });
          },
        },
      ],
    });
    const script = async (make: string) => {
      const pef = createRuntime({ inventory, format: 'json', tasks: [mint], plans: [minting] });
      try {
        return renderRunbook(await exportPlan(pef, minting, { make }, { inventory: 'x' }));
      } finally {
        await pef.close();
      }
    };
    const good = await script("head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \\n'");
    expect(good).toContain('PEF_VALUE_TOKEN=$(on_replica_test ');
    expect(good).toContain(`'"$PEF_VALUE_TOKEN"'`);
    const run = bash(good);
    expect(run.stderr).toContain('pef: runbook of plan minting done');
    expect(run.status).toBe(0);
    expect(readFileSync(used, 'utf8')).toBe(`token=${readFileSync(made, 'utf8')}\n`);
    rmSync(used);

    // A value that does not look as it should is never used.
    const bad = bash(await script("printf '%s' '$(reboot)'"));
    expect(bad.status).toBe(3);
    expect(bad.stderr).toContain('unexpected the new token: "$(reboot)"');
    expect(existsSync(used)).toBe(false);
  });

  it('refuses to write a runbook when the dry run fails', async () => {
    const failing = definePlan({
      name: 'broken',
      description: '',
      params: z.object({}),
      steps: [{ name: 'probe', description: '', run: async () => Promise.reject(new Error('the replica is down')) }],
    });
    const pef = createRuntime({ inventory, format: 'json', tasks: [], plans: [failing] });
    await expect(exportPlan(pef, failing, {}, { inventory: 'x' })).rejects.toMatchObject({
      kind: 'pef/plan-failed',
      message: expect.stringContaining('the replica is down'),
    });
    await pef.close();
  });
});
