/**
 * Secrets never reach output or logs. The suite plants secrets of every kind pef handles — an
 * inventory password from an env_var plugin, a sensitive-looking task input, and the real
 * secrets on the lab hosts (PuppetDB's database password, the CA's private key, the transfer
 * key) — runs the task library through the CLI in human and JSON form, and greps everything it
 * printed and logged.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labExec } from '../../../src/lab/lab-exec.js';
import { ensureLab, TEST_LAB_DIR } from '../../helpers/lab.js';
import { runCli } from '../../helpers/run-cli.js';

const PLANTED = 'planted-sudo-secret-7c1e2b';
let dir: string;
const outputs: string[] = [];
const hostSecrets: Record<string, string> = {};

/** The body of a PEM or key file: its base64 lines, each long enough to be unmistakable. */
function bodyLines(pem: string): string[] {
  return pem.split('\n').filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l));
}

beforeAll(async () => {
  const lab = await ensureLab();
  dir = mkdtempSync(join(tmpdir(), 'pef-secrets-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"secrets-test"}');
  // The lab inventory, plus a sudo password from the environment on every target.
  const inventory = readFileSync(lab.inventory, 'utf8').replace(
    /^config:\n {2}transport: ssh\n {2}ssh:\n/m,
    (m) => `${m}    sudo-password:\n      _plugin: env_var\n      var: PEF_PLANTED_SECRET\n`,
  );
  expect(inventory).toContain('PEF_PLANTED_SECRET');
  writeFileSync(join(dir, 'inventory.yaml'), inventory);
  const read = async (host: string, file: string) => (await labExec(host, ['cat', file], { dir: TEST_LAB_DIR })).stdout;
  hostSecrets['puppetdb database password'] =
    /^password\s*=\s*(\S+)/m.exec(await read('primary', '/etc/puppetdb/conf.d/database.ini'))?.[1] ?? '';
  hostSecrets['CA private key'] = bodyLines(await read('primary', '/etc/puppet/puppetserver/ca/ca_key.pem'))[1] ?? '';
  expect(hostSecrets['puppetdb database password']?.length).toBeGreaterThan(8);
  expect(hostSecrets['CA private key']?.length).toBeGreaterThan(40);
}, 600_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = { PEF_PLANTED_SECRET: PLANTED };
const runs: string[][] = [
  ['plan', 'run', 'preflight'],
  ['task', 'run', 'discover', '-t', 'primary,replica'],
  ['task', 'run', 'setup_transfer', '-t', 'primary', 'receiver=replica'],
  ['task', 'run', 'pad_serial', '-t', 'primary'],
  ['task', 'run', 'sync_ca', '-t', 'primary', 'receiver=replica', '--noop'],
  ['task', 'run', 'sync_ca', '-t', 'primary', 'receiver=replica'],
  ['task', 'run', 'dump_db', '-t', 'primary', 'receiver=replica'],
  ['task', 'run', 'restore_db', '-t', 'replica', '--noop'],
  ['task', 'run', 'set_mode', '-t', 'replica', 'mode=passive', 'peer=primary', '--noop'],
  ['task', 'run', 'service', '-t', 'primary', 'action=status', 'services=["puppetserver","puppetdb","postgresql"]'],
  ['inventory', 'show'],
];

describe('secrets', () => {
  it('run the task library through the CLI, human and JSON, verbose', async () => {
    for (const args of runs) {
      for (const format of [['--format', 'json'], ['--verbose']]) {
        const run = await runCli([...args, ...(args[0] === 'inventory' ? [] : format), '-i', 'inventory.yaml'], {
          cwd: dir,
          env,
        });
        outputs.push(run.stdout, run.stderr);
        expect(run.code === 0 || run.code === 2).toBe(true);
      }
    }
    // The transfer key exists now; its body is a secret too.
    hostSecrets['transfer private key'] =
      bodyLines((await labExec('primary', ['cat', '/etc/pef/transfer/id_ed25519'], { dir: TEST_LAB_DIR })).stdout)[0] ??
      '';
    expect(hostSecrets['transfer private key']?.length).toBeGreaterThan(40);
  }, 900_000);

  it('appear in no output and no debug log', () => {
    const logs = readdirSync(join(dir, '.pef', 'logs')).map((f) => readFileSync(join(dir, '.pef', 'logs', f), 'utf8'));
    expect(logs.length).toBeGreaterThanOrEqual(runs.length);
    const everything = [...outputs, ...logs].join('\n');
    // The runs did happen and were logged (so an empty grep means something).
    expect(everything).toContain('ran `');
    for (const [what, secret] of Object.entries({ 'planted inventory secret': PLANTED, ...hostSecrets })) {
      expect({ what, found: everything.includes(secret) }).toEqual({ what, found: false });
    }
  });
});
