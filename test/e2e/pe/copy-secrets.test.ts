/**
 * copy_secrets on the PE lab: the replica gets the primary's keys (digests equal, owner and mode
 * kept, missing directories made like the primary's), a second run changes nothing, noop changes
 * nothing, the kill-switch stops it, and the keys' contents appear in no CLI output (JSON or
 * verbose plain) and no run log.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labExec } from '../../../src/lab/lab-exec.js';
import { PE_SECRET_FILES } from '../../../src/puppet/pe-secrets.js';
import { copySecrets } from '../../../tasks/copy-secrets.js';
import { setMode } from '../../../tasks/set-mode.js';
import { ensurePeLab, labSupported, PE_LAB_TIMEOUT_MS, TEST_PE_LAB_DIR } from '../../helpers/lab.js';
import { runCli } from '../../helpers/run-cli.js';
import { taskRunner, type TaskRunner } from '../../helpers/task-runner.js';

const maybe = labSupported() ? describe : describe.skip;
const [ORCH_KEYS, ORCH_ENC, CONSOLE_KEYS, HIERA] = PE_SECRET_FILES as [string, string, string, string];
const CONSOLE_SECRETS_DIR = '/etc/puppetlabs/console-services/conf.d/secrets';

let runner: TaskRunner;
let cliDir: string;
const outputs: string[] = [];
/** Everything secret the suite saw on either host: whole files, lines, JSON values. */
const secrets = new Set<string>();

const on = async (host: string, script: string) => {
  const out = await labExec(host, ['sh', '-c', script], { dir: TEST_PE_LAB_DIR, timeoutMs: 120_000 });
  if (out.exitCode !== 0) throw new Error(`${host}: ${script}: ${out.stderr}`);
  return out.stdout;
};
const stateOf = (host: string) =>
  on(
    host,
    `for f in ${PE_SECRET_FILES.join(' ')}; do echo "$(sha256sum < $f | cut -c1-64) $(stat -c '%U:%G %a' $f)"; done`,
  );

/** Remembers a host's current secret contents for the final grep. */
async function collectSecrets(host: string): Promise<void> {
  for (const file of [ORCH_KEYS, ORCH_ENC, CONSOLE_KEYS]) {
    const text = await on(host, `cat ${file}`);
    secrets.add(text.trim());
    for (const line of text.split('\n')) if (line.trim().length >= 20) secrets.add(line.trim());
    const walk = (v: unknown): void => {
      if (typeof v === 'string' && v.length >= 16) secrets.add(v);
      else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
    };
    walk(JSON.parse(text));
  }
}

/** Gives the replica keys of its own again (as a fresh PE install has), mode 0600 root-owned. */
async function diverge(tag: string): Promise<void> {
  for (const file of [ORCH_KEYS, ORCH_ENC]) {
    await on(
      'replica',
      `printf '{"key":"%s","id":"%s"}\\n' "$(head -c 24 /dev/urandom | base64)" ${tag} > ${file} && chown root:root ${file} && chmod 600 ${file}`,
    );
  }
  await on('replica', `printf '# replica %s\\nversion: 5\\n' ${tag} > ${HIERA}`);
  await collectSecrets('replica');
}

maybe('copy_secrets (PE lab)', () => {
  beforeAll(async () => {
    const lab = await ensurePeLab();
    runner = await taskRunner(lab.inventory);
    // Whatever other suites left: primary sends, replica receives, replication on.
    for (const [host, mode] of [
      ['primary', 'active'],
      ['replica', 'passive'],
    ] as const) {
      const r = (await runner.task(setMode, host, { mode, replication: 'enabled' })).find(`${host}.lab`)!;
      expect(r.error).toBeUndefined();
    }
    cliDir = mkdtempSync(join(tmpdir(), 'pef-copy-secrets-'));
    writeFileSync(join(cliDir, 'package.json'), '{"name":"copy-secrets-test"}');
    writeFileSync(join(cliDir, 'inventory.yaml'), readFileSync(lab.inventory, 'utf8'));
    await collectSecrets('primary');
  }, PE_LAB_TIMEOUT_MS);

  afterAll(async () => {
    await runner?.close();
    if (cliDir) rmSync(cliDir, { recursive: true, force: true });
  });

  it('in noop lists the writes for the differing files and changes nothing', async () => {
    await diverge('noop');
    const before = await stateOf('replica');
    const r = (await runner.task(copySecrets, 'primary', { replica: 'replica' }, { noop: true })).find('primary.lab')!;
    expect(r.error).toBeUndefined();
    expect(r.changed).toBe(true);
    const wouldRun = r.noop?.wouldRun ?? [];
    for (const file of [ORCH_KEYS, ORCH_ENC, HIERA])
      expect(
        wouldRun.some(
          (c) =>
            c.startsWith('replica.lab: ') &&
            c.includes(`p=${file}\n`) &&
            c.includes('base64 -d > f.pef-tmp') &&
            c.includes('mv -fT f.pef-tmp "../$n"'),
        ),
      ).toBe(true);
    expect(wouldRun.some((c) => c.includes(CONSOLE_KEYS))).toBe(
      (await on('primary', `sha256sum < ${CONSOLE_KEYS}`)) !== (await on('replica', `sha256sum < ${CONSOLE_KEYS}`)),
    );
    expect(await stateOf('replica')).toBe(before);
  }, 120_000);

  it("copies the primary's files through the CLI (verbose), keeping owner and mode and making a missing directory like the primary's", async () => {
    await on('replica', `rm -rf ${CONSOLE_SECRETS_DIR}`);
    const run = await runCli(
      ['task', 'run', 'copy_secrets', '-t', 'primary', 'replica=replica', '--verbose', '-i', 'inventory.yaml'],
      { cwd: cliDir },
    );
    outputs.push(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    expect(await stateOf('replica')).toBe(await stateOf('primary'));
    expect(await on('replica', `stat -c '%U:%G %a' ${ORCH_KEYS} ${CONSOLE_SECRETS_DIR}`)).toBe(
      await on('primary', `stat -c '%U:%G %a' ${ORCH_KEYS} ${CONSOLE_SECRETS_DIR}`),
    );
    expect(await on('replica', `stat -c '%U:%G %a' ${ORCH_KEYS}`)).toBe(
      'pe-orchestration-services:pe-orchestration-services 640\n',
    );
    expect(
      await on(
        'replica',
        `ls -a ${CONSOLE_SECRETS_DIR} /etc/puppetlabs/orchestration-services/conf.d/secrets | grep -c 'pef-tmp\\|pef-write' || true`,
      ),
    ).toBe('0\n');
  }, 120_000);

  it('reports changed: false on the next run, per file', async () => {
    const r = (await runner.task(copySecrets, 'primary', { replica: 'replica' })).find('primary.lab')!;
    expect(r).toMatchObject({ status: 'success', changed: false });
    const files = r.value['files'] as { path: string; action: string; sha256: string; owner: string; mode: string }[];
    expect(files.map((f) => f.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(files[0]).toMatchObject({
      path: ORCH_KEYS,
      owner: 'pe-orchestration-services',
      mode: '0640',
      sha256: (await on('primary', `sha256sum < ${ORCH_KEYS}`)).slice(0, 12),
    });
  }, 120_000);

  it('copies again through the CLI (JSON) and restarts the running service that reads a changed file when asked', async () => {
    await diverge('json');
    await on('replica', `printf '{"key":"%s"}\\n' "$(head -c 24 /dev/urandom | base64)" > ${CONSOLE_KEYS}`);
    await collectSecrets('replica');
    const run = await runCli(
      [
        'task',
        'run',
        'copy_secrets',
        '-t',
        'primary',
        'replica=replica',
        'restart_services=true',
        '--format',
        'json',
        '-i',
        'inventory.yaml',
      ],
      { cwd: cliDir },
    );
    outputs.push(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    const item = (JSON.parse(run.stdout) as { items: { value: Record<string, unknown> }[] }).items[0]!;
    // pe-console-services runs on the replica; pe-orchestration-services is not a lab service.
    expect(item.value).toMatchObject({ restarted: ['pe-console-services'], restart_needed: [] });
    expect(
      (await labExec('replica', ['pef-lab-service', 'status', 'pe-console-services'], { dir: TEST_PE_LAB_DIR }))
        .exitCode,
    ).toBe(0);
    expect(await stateOf('replica')).toBe(await stateOf('primary'));
  }, 300_000);

  it('refuses while the replica has the replication kill-switch on, and writes nothing', async () => {
    await diverge('killswitch');
    const before = await stateOf('replica');
    await on('replica', 'mkdir -p /etc/pef && printf "reason=copy_secrets test\\n" > /etc/pef/replication.disabled');
    try {
      const r = (await runner.task(copySecrets, 'primary', { replica: 'replica' })).find('primary.lab')!;
      expect(r.error?.msg).toMatch(
        /^copy_secrets refused: replication is switched off on replica\.lab .*Nothing was changed\.$/s,
      );
      expect(await stateOf('replica')).toBe(before);
    } finally {
      await on('replica', 'rm -f /etc/pef/replication.disabled');
    }
    // Leave the replica with the primary's keys, as a DR setup has them.
    expect((await runner.task(copySecrets, 'primary', { replica: 'replica' })).find('primary.lab')!.changed).toBe(true);
  }, 120_000);

  it('never shows the contents: not in CLI output, not in any run log', () => {
    const cliLogs = readdirSync(join(cliDir, '.pef', 'logs')).map((f) =>
      readFileSync(join(cliDir, '.pef', 'logs', f), 'utf8'),
    );
    const everything = [...outputs, ...cliLogs, runner.log()].join('\n');
    // The runs happened and were logged, so an empty grep means something.
    expect(everything).toContain('base64 -d');
    expect(everything).toContain(ORCH_KEYS);
    expect(secrets.size).toBeGreaterThan(6);
    const found = [...secrets].filter((s) => everything.includes(s));
    expect(found).toEqual([]);
  });
});
