/**
 * A lab stand-in for PE's node classifier API (not Puppet Enterprise): `GET /classifier-api/v1/groups`
 * and `POST /classifier-api/v1/import-hierarchy`, over TLS with client certificates checked against
 * the lab CA and an allow-list of certnames (PE's `rbac-certificate-allowlist`). The hierarchy lives
 * in one JSON file (the same array GET returns), replaced atomically on import. Every response
 * carries `X-Pef-Standin: classifier`. See docs/lab.md "PE stand-ins".
 */
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PefError } from '../../errors/pef-error.js';
import { defaultHierarchy } from './default-hierarchy.js';
import { inheritedGroups, validateHierarchy } from './node-group-hierarchy.js';
import type { ClassifierError, NodeGroup } from './node-group-hierarchy.js';

/** How to start the classifier stand-in. */
export interface ClassifierStandinOptions {
  /** Address to bind; must be in 127.0.0.0/8. */
  host: string;
  /** Port to bind; 0 picks a free one. PE's is 4433. */
  port: number;
  /** PEM files: server certificate, its key, and the CA that signs allowed clients. */
  certFile: string;
  keyFile: string;
  caFile: string;
  /** JSON file holding the hierarchy; seeded with `defaultHierarchy(primaryCertname)` when absent. */
  dataFile: string;
  /** Certnames (client cert CN) allowed to call the API. */
  allowlist?: readonly string[];
  /** A file of allowed certnames, one a line (`#` comments), read once at start; adds to `allowlist`. */
  allowlistFile?: string;
  /** The primary's certname, used only when seeding the hierarchy. */
  primaryCertname: string;
  /** Receives one line per request; defaults to stdout. */
  log?: (line: string) => void;
}

/** A running classifier stand-in. */
export interface ClassifierStandin {
  readonly host: string;
  readonly port: number;
  /** Base URL of the API, `https://<host>:<port>/classifier-api/v1`. */
  readonly url: string;
  /** Stops listening, drops open connections and waits for a pending write. */
  close(): Promise<void>;
}

/** The label every response carries. */
export const STANDIN_HEADER = 'X-Pef-Standin';

const GROUPS = '/classifier-api/v1/groups';
const IMPORT = '/classifier-api/v1/import-hierarchy';
const MAX_BODY = 16 * 1024 * 1024;

/** Starts the classifier stand-in; resolves once it listens. */
// The request handlers share the server's state (the hierarchy, pending writes, the allow-list)
// through this closure, as one small server.
export async function startClassifierStandin(options: ClassifierStandinOptions): Promise<ClassifierStandin> {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(options.host)) {
    throw new PefError(
      'pef/lab-error',
      `classifier stand-in: --host ${options.host} is not a loopback address; lab servers bind only in 127.0.0.0/8`,
      { host: options.host },
    );
  }
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const [cert, key, ca] = await Promise.all([options.certFile, options.keyFile, options.caFile].map((f) => readPem(f)));
  const allowed = new Set(options.allowlist ?? []);
  if (options.allowlistFile !== undefined)
    for (const name of await readAllowlist(options.allowlistFile)) allowed.add(name);
  let groups = await loadHierarchy(options.dataFile, options.primaryCertname);
  // Imports are persisted one at a time, so the file always holds the last accepted hierarchy.
  let writes: Promise<void> = Promise.resolve();

  const handle = async (req: IncomingMessage, res: ServerResponse, certname: string | undefined): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://standin');
    if (certname === undefined || !allowed.has(certname)) {
      return sendJson(
        res,
        403,
        error(
          'permission-denied',
          `Client certificate ${certname ?? '(none)'} is not on the certificate allow-list of this classifier stand-in.`,
          { certname: certname ?? null },
        ),
      );
    }
    if (url.pathname === GROUPS) {
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
      const inherited = url.searchParams.get('inherited');
      const wantInherited = inherited !== null && inherited !== 'false' && inherited !== '0';
      return sendJson(res, 200, wantInherited ? inheritedGroups(groups) : groups);
    }
    if (url.pathname === IMPORT) {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      const text = await readBody(req);
      if (text === undefined)
        return sendJson(res, 413, error('request-too-large', `The request body exceeds ${MAX_BODY} bytes.`, {}));
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        return sendJson(
          res,
          400,
          error('malformed-request', `The request body is not valid JSON: ${(e as Error).message}`, {}),
        );
      }
      const check = validateHierarchy(body);
      if (!check.ok) return sendJson(res, 400, check.error);
      const next = check.groups;
      writes = writes.then(() => persist(options.dataFile, next));
      await writes;
      groups = next;
      res.writeHead(204).end();
      return;
    }
    return sendJson(
      res,
      404,
      error(
        'not-found',
        `No such endpoint: ${req.method ?? '?'} ${url.pathname}. This stand-in serves GET ${GROUPS} and POST ${IMPORT}.`,
        {},
      ),
    );
  };

  const server = createServer({ cert, key, ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const certname = peerCertname(req.socket as TLSSocket);
    res.setHeader(STANDIN_HEADER, 'classifier');
    res.on('finish', () =>
      log(`${new Date().toISOString()} ${certname ?? '-'} ${req.method ?? '?'} ${req.url ?? ''} ${res.statusCode}`),
    );
    handle(req, res, certname).catch((e: unknown) => {
      writes = Promise.resolve(); // a failed write must not block later imports
      if (!res.headersSent)
        sendJson(res, 500, error('application-error', `classifier stand-in: ${(e as Error).message}`, {}));
      else res.destroy();
    });
  });
  server.on('tlsClientError', (e, socket) =>
    log(`${new Date().toISOString()} ${socket.remoteAddress ?? '-'} TLS handshake refused: ${e.message}`),
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new PefError(
          'pef/lab-error',
          `classifier stand-in: cannot listen on ${options.host}:${options.port}: ${e.message}`,
          { host: options.host, port: options.port },
          { cause: e },
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    host: options.host,
    port,
    url: `https://${options.host}:${port}/classifier-api/v1`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // A failed write already answered its request with an error; closing only waits for it.
      await writes.catch(() => undefined);
    },
  };
}

/** Certnames from an allow-list file: one a line, blank lines and `#` comments ignored. */
export async function readAllowlist(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PefError(
      'pef/file-error',
      `classifier stand-in: cannot read the allow-list ${file}: ${(e as Error).message}`,
      { file },
      { cause: e },
    );
  }
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

async function readPem(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new PefError(
      'pef/file-error',
      `classifier stand-in: cannot read ${file}: ${(e as Error).message}`,
      { file },
      { cause: e },
    );
  }
}

async function loadHierarchy(file: string, primary: string): Promise<NodeGroup[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new PefError(
        'pef/file-error',
        `classifier stand-in: cannot read ${file}: ${(e as Error).message}`,
        { file },
        { cause: e },
      );
    const seed = defaultHierarchy(primary);
    await persist(file, seed);
    return seed;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new PefError(
      'pef/file-error',
      `classifier stand-in: ${file} is not valid JSON (${(e as Error).message}); fix it, or remove it to reseed the default hierarchy`,
      { file },
    );
  }
  const check = validateHierarchy(parsed);
  if (!check.ok)
    throw new PefError(
      'pef/file-error',
      `classifier stand-in: ${file} does not hold a valid hierarchy: ${check.error.msg} Fix it, or remove it to reseed the default hierarchy.`,
      { file, error: check.error },
    );
  return check.groups;
}

// Write to a temp file and rename, so a crash never leaves a half-written hierarchy.
async function persist(file: string, groups: readonly NodeGroup[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, `${JSON.stringify(groups, null, 2)}\n`, { mode: 0o640 });
  await rename(temp, file);
}

function peerCertname(socket: TLSSocket): string | undefined {
  const cn = socket.getPeerCertificate().subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function error(kind: string, msg: string, details: Record<string, unknown>): ClassifierError {
  return { kind: `puppetlabs.classifier/${kind}`, msg, details };
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendJson(res, 405, error('method-not-allowed', `Only ${allow} is allowed here.`, { allow }));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
