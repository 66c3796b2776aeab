// The curl commands dump_nc and restore_nc run on a host, run for real here against the classifier
// stand-in over TLS (a throwaway CA made by openssl): GET and transform, import-hierarchy with its
// status, a refused import that leaves the hierarchy alone, and how failures read.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClassifierStandin, type ClassifierStandin } from '../../../src/lab/pe-standins/classifier-standin.js';
import {
  classifierBase,
  type ClassifierClientHost,
  classifierGetCommand,
  classifierImportCommand,
  type ClientTls,
  parseHttpReply,
  readClassifierGroups,
} from '../../../src/puppet/classifier-client.js';
import { diffHierarchies, sameHierarchy, transformGroups } from '../../../src/puppet/nc-transform.js';
import { parseGroups, renderArchive } from '../../../src/puppet/node-classification.js';
import type { CommandOutput } from '../../../src/transport/transport.js';
import { issueCert, makeCa } from '../../helpers/throwaway-ca.js';

const HOST = '127.0.13.50';
let dir: string;
let standin: ClassifierStandin;
let base: string;

const tlsFor = (client: string, ca = 'ca'): ClientTls => ({
  cert: join(dir, `${client}.pem`),
  key: join(dir, `${client}.key`),
  cacert: join(dir, `${ca}.pem`),
});

// Asynchronous: the stand-in answers from this same process.
function run(command: string, stdin?: string): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, exitCode: code, durationMs: 0 }));
    child.stdin.end(stdin ?? '');
  });
}

// A host whose commands run on the controller, as ctx.read runs them on a target.
const localHost: ClassifierClientHost = {
  target: { name: 'local' },
  read: async (command, options) => {
    const out = await run(command);
    if (!(options?.okExitCodes ?? [0]).includes(out.exitCode ?? -1)) throw new Error(`exit ${out.exitCode}`);
    return out;
  },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pef-nc-curl-'));
  for (const ca of ['ca', 'other-ca']) makeCa(dir, ca);
  issueCert(dir, 'server', 'primary.lab', { san: `IP:${HOST},DNS:primary.lab` });
  issueCert(dir, 'replica', 'replica.lab');
  issueCert(dir, 'agent', 'agent1.lab');
  standin = await startClassifierStandin({
    host: HOST,
    port: 0,
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    caFile: join(dir, 'ca.pem'),
    dataFile: join(dir, 'data', 'classifier.json'),
    allowlist: ['replica.lab'],
    primaryCertname: 'primary.lab',
    log: () => undefined,
  });
  base = classifierBase(HOST, standin.port);
});

afterAll(async () => {
  await standin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('classifier curl commands against the stand-in', () => {
  it('GET returns the groups with status 200; the transform removes the primary', async () => {
    const reply = parseHttpReply((await run(classifierGetCommand(tlsFor('replica'), base))).stdout);
    expect(reply?.status).toBe(200);
    const parsed = parseGroups(reply?.body ?? '');
    expect(parsed.ok).toBe(true);
    const groups = await readClassifierGroups(localHost, tlsFor('replica'), base, 'x');
    expect(JSON.stringify(groups)).toContain('primary.lab');
    const { groups: moved, count } = transformGroups(groups, { from: 'primary.lab', to: 'replica.lab' });
    expect(count).toBeGreaterThan(0);
    expect(JSON.stringify(moved)).not.toContain('primary.lab');
  });

  it('import-hierarchy takes the body on stdin and answers 204; GET then equals it', async () => {
    const groups = await readClassifierGroups(localHost, tlsFor('replica'), base, 'x');
    const moved = transformGroups(groups, { from: 'primary.lab', to: 'replica.lab' }).groups;
    const out = await run(classifierImportCommand(tlsFor('replica'), base), renderArchive(moved));
    expect(out.exitCode).toBe(0);
    expect(parseHttpReply(out.stdout)).toEqual({ status: 204, body: '' });
    const after = await readClassifierGroups(localHost, tlsFor('replica'), base, 'x');
    expect(sameHierarchy(diffHierarchies(after, moved))).toBe(true);
    expect(sameHierarchy(diffHierarchies(after, groups))).toBe(false);
  });

  it('a refused import answers 400 with the reason, and the hierarchy stays', async () => {
    const before = await readClassifierGroups(localHost, tlsFor('replica'), base, 'x');
    const broken = before.map((g, i) =>
      i === 1 ? Object.fromEntries(Object.entries(g).filter(([k]) => k !== 'environment_trumps')) : g,
    );
    const out = await run(classifierImportCommand(tlsFor('replica'), base), JSON.stringify(broken));
    expect(out.exitCode).toBe(0);
    const reply = parseHttpReply(out.stdout);
    expect(reply?.status).toBe(400);
    expect(reply?.body).toContain('schema-violation');
    const after = await readClassifierGroups(localHost, tlsFor('replica'), base, 'x');
    expect(sameHierarchy(diffHierarchies(after, before))).toBe(true);
  });

  it('explains a client that is not on the allow-list (403), a foreign server certificate and a closed port', async () => {
    await expect(readClassifierGroups(localHost, tlsFor('agent'), base, 'Nothing was written.')).rejects.toThrow(
      /answered HTTP 403: .*permission-denied.*allow-list.*Nothing was written\./,
    );
    await expect(
      readClassifierGroups(localHost, tlsFor('replica', 'other-ca'), base, 'Nothing was written.'),
    ).rejects.toThrow(/failed: the server's certificate is not signed by the host's CA/);
    await expect(
      readClassifierGroups(localHost, tlsFor('replica'), classifierBase(HOST, 1), 'Nothing was written.'),
    ).rejects.toThrow(/failed: nothing listens there: is pe-console-services running\?.*Nothing was written\./);
  });

  it('never puts key material on the command line', () => {
    const command = classifierImportCommand(tlsFor('replica'), base);
    expect(command).toContain(`--key ${join(dir, 'replica.key')}`);
    expect(command).not.toContain('PRIVATE KEY');
  });
});
