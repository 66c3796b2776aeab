// The classifier stand-in over real TLS: a throwaway CA made by openssl, client certs on and off
// the allow-list, and the real entry script stopped by SIGTERM.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClassifierStandin } from '../../../src/lab/pe-standins/classifier-standin.js';
import type { ClassifierStandin } from '../../../src/lab/pe-standins/classifier-standin.js';
import type { NodeGroup } from '../../../src/lab/pe-standins/node-group-hierarchy.js';
import { issueCert, makeCa } from '../../helpers/throwaway-ca.js';

const HOST = '127.0.23.1';
let dir: string;
let standin: ClassifierStandin | undefined;
const logLines: string[] = [];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, method: string, path: string, client: string | undefined, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port,
        method,
        path,
        ca: readFileSync(join(dir, 'ca.pem')),
        ...(client === undefined
          ? {}
          : { cert: readFileSync(join(dir, `${client}.pem`)), key: readFileSync(join(dir, `${client}.key`)) }),
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const start = async (): Promise<ClassifierStandin> =>
  startClassifierStandin({
    host: HOST,
    port: 0,
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    caFile: join(dir, 'ca.pem'),
    dataFile: join(dir, 'data', 'classifier.json'),
    allowlistFile: join(dir, 'allowlist'),
    primaryCertname: 'primary.lab',
    log: (line) => logLines.push(line),
  });

const group = (id: string, name: string, parent: string): NodeGroup => ({
  id,
  name,
  parent,
  environment: 'production',
  environment_trumps: false,
  rule: null,
  classes: {},
  variables: {},
  description: '',
  config_data: {},
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pef-classifier-'));
  makeCa(dir, 'ca', 'pef-test-ca');
  issueCert(dir, 'server', 'primary.lab', { san: `IP:${HOST},IP:127.0.23.2,DNS:primary.lab` });
  issueCert(dir, 'allowed', 'replica.lab');
  issueCert(dir, 'denied', 'agent1.lab');
  writeFileSync(join(dir, 'allowlist'), '# certnames allowed to use the classifier\nreplica.lab\n\n');
  standin = await start();
});

afterAll(async () => {
  await standin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('classifier stand-in', () => {
  it('seeds the default hierarchy and serves it to an allowed client, labelled as a stand-in', async () => {
    const reply = await call(standin!.port, 'GET', '/classifier-api/v1/groups', 'allowed');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-pef-standin']).toBe('classifier');
    const groups = JSON.parse(reply.body) as NodeGroup[];
    const root = groups.find((g) => g.name === 'All Nodes');
    expect(root?.parent).toBe(root?.id);
    const master = groups.find((g) => g.name === 'PE Master');
    expect(master?.classes['puppet_enterprise::profile::master']).toMatchObject({ puppetdb_host: ['primary.lab'] });
    expect(Object.keys(master!).sort()).toEqual([
      'classes',
      'config_data',
      'description',
      'environment',
      'environment_trumps',
      'id',
      'name',
      'parent',
      'rule',
      'variables',
    ]);
    expect(existsSync(join(dir, 'data', 'classifier.json'))).toBe(true);
    expect(logLines.some((l) => / replica\.lab GET \/classifier-api\/v1\/groups 200$/.test(l))).toBe(true);
  });

  it('merges ancestors only with ?inherited=true', async () => {
    const flat = JSON.parse(
      (await call(standin!.port, 'GET', '/classifier-api/v1/groups?inherited=false', 'allowed')).body,
    ) as NodeGroup[];
    const merged = JSON.parse(
      (await call(standin!.port, 'GET', '/classifier-api/v1/groups?inherited=true', 'allowed')).body,
    ) as NodeGroup[];
    expect(flat.find((g) => g.name === 'PE Master')?.classes['puppet_enterprise']).toBeUndefined();
    expect(merged.find((g) => g.name === 'PE Master')?.classes['puppet_enterprise']).toMatchObject({
      puppet_master_host: 'primary.lab',
    });
  });

  it('answers 403 to a CA-signed client that is not on the allow-list', async () => {
    const reply = await call(standin!.port, 'GET', '/classifier-api/v1/groups', 'denied');
    expect(reply.status).toBe(403);
    expect(reply.headers['x-pef-standin']).toBe('classifier');
    expect(JSON.parse(reply.body)).toMatchObject({ kind: 'puppetlabs.classifier/permission-denied' });
  });

  it('refuses the TLS handshake to a client without a certificate', async () => {
    await expect(call(standin!.port, 'GET', '/classifier-api/v1/groups', undefined)).rejects.toThrow();
  });

  it('replaces the hierarchy on import (204), then GET returns it', async () => {
    const root = group('00000000-0000-4000-8000-000000000000', 'All Nodes', '00000000-0000-4000-8000-000000000000');
    const master = {
      ...group('11111111-0000-4000-8000-000000000001', 'PE Master', root.id),
      classes: { 'puppet_enterprise::profile::master': { puppetdb_host: ['replica.lab'] } },
    };
    const posted = await call(
      standin!.port,
      'POST',
      '/classifier-api/v1/import-hierarchy',
      'allowed',
      JSON.stringify([root, master]),
    );
    expect(posted.status).toBe(204);
    expect(posted.body).toBe('');
    expect(posted.headers['x-pef-standin']).toBe('classifier');
    const got = await call(standin!.port, 'GET', '/classifier-api/v1/groups', 'allowed');
    expect(JSON.parse(got.body)).toEqual([root, master]);
  });

  it.each([
    ['not an array', { name: 'All Nodes' }, 'schema-violation'],
    ['no root', [group('a', 'A', 'b'), group('b', 'B', 'a')], 'unreachable-groups'],
    ['two roots', [group('a', 'A', 'a'), group('b', 'B', 'b')], 'unreachable-groups'],
    ['a dangling parent', [group('r', 'All Nodes', 'r'), group('c', 'Child', 'gone')], 'missing-parents'],
    ['a cycle', [group('r', 'All Nodes', 'r'), group('a', 'A', 'b'), group('b', 'B', 'a')], 'inheritance-cycle'],
    [
      'a group without classes',
      [{ id: 'r', name: 'All Nodes', parent: 'r', environment: 'production' }],
      'schema-violation',
    ],
  ])('answers 400 to a hierarchy with %s and keeps the old one', async (_what, body, kind) => {
    const before = (await call(standin!.port, 'GET', '/classifier-api/v1/groups', 'allowed')).body;
    const reply = await call(
      standin!.port,
      'POST',
      '/classifier-api/v1/import-hierarchy',
      'allowed',
      JSON.stringify(body),
    );
    expect(reply.status).toBe(400);
    const error = JSON.parse(reply.body) as { kind: string; msg: string };
    expect(error.kind).toBe(`puppetlabs.classifier/${kind}`);
    expect(error.msg.length).toBeGreaterThan(10);
    expect((await call(standin!.port, 'GET', '/classifier-api/v1/groups', 'allowed')).body).toBe(before);
  });

  it('answers 400 to a body that is not JSON, 404 elsewhere and 405 to a wrong method', async () => {
    const bad = await call(standin!.port, 'POST', '/classifier-api/v1/import-hierarchy', 'allowed', '[{');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ kind: 'puppetlabs.classifier/malformed-request' });
    const missing = await call(standin!.port, 'GET', '/classifier-api/v1/classes', 'allowed');
    expect(missing.status).toBe(404);
    expect(missing.headers['x-pef-standin']).toBe('classifier');
    const wrong = await call(standin!.port, 'DELETE', '/classifier-api/v1/groups', 'allowed');
    expect(wrong.status).toBe(405);
    expect(wrong.headers['allow']).toBe('GET');
    expect((await call(standin!.port, 'GET', '/classifier-api/v1/import-hierarchy', 'allowed')).status).toBe(405);
  });

  it('keeps the imported hierarchy across a restart', async () => {
    const before = JSON.parse(
      (await call(standin!.port, 'GET', '/classifier-api/v1/groups', 'allowed')).body,
    ) as NodeGroup[];
    await standin!.close();
    standin = await start();
    const after = JSON.parse(
      (await call(standin.port, 'GET', '/classifier-api/v1/groups', 'allowed')).body,
    ) as NodeGroup[];
    expect(after).toEqual(before);
    expect(after.map((g) => g.name)).toEqual(['All Nodes', 'PE Master']);
  });

  it('runs as a script that binds where told and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        './test/helpers/lab-ts-loader.mjs',
        'src/lab/pe-standins/classifier-standin-main.ts',
        '--host',
        '127.0.23.2',
        '--port',
        '0',
        '--cert',
        join(dir, 'server.pem'),
        '--key',
        join(dir, 'server.key'),
        '--ca',
        join(dir, 'ca.pem'),
        '--data',
        join(dir, 'main', 'classifier.json'),
        '--allow',
        'replica.lab',
        '--primary',
        'primary.lab',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /listening on (https:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', () => reject(new Error(`exited early: ${out}`)));
      });
      expect(url).toMatch(/^https:\/\/127\.0\.23\.2:\d+\/classifier-api\/v1$/);
      const port = Number(new URL(url).port);
      const reply = await new Promise<number>((resolve, reject) => {
        request(
          {
            host: '127.0.23.2',
            port,
            path: '/classifier-api/v1/groups',
            ca: readFileSync(join(dir, 'ca.pem')),
            cert: readFileSync(join(dir, 'allowed.pem')),
            key: readFileSync(join(dir, 'allowed.key')),
            agent: false,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
          .on('error', reject)
          .end();
      });
      expect(reply).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
