/**
 * The open-source replica's own servers (configure_replica): its PuppetDB on its own PostgreSQL
 * database, configured as the primary's is but pointing at the replica's database, host name
 * and certificate. Command text and parsers only, kept pure for unit tests.
 *
 * Secrets: the database password lives in the replica's database.ini and never leaves the host.
 * pef reads that file with the password replaced by a marker, writes it back with the marker in
 * place, and the host puts the password in while writing (awk reads it from the environment);
 * role creation and the login check read it there too (SQL on stdin, PGPASSWORD in psql's
 * environment), so it reaches neither argv nor a log.
 */
import { parseKeyValues } from '../util/key-value.js';
import { shQuote } from '../util/shell-quote.js';
import { writeFileCommand } from '../host/files.js';
import { asSuperuser, sqlIdent, sqlLiteral, type PgTools } from './databases.js';
import { iniGet, iniSet } from './ini-file.js';

/** What pef shows instead of an existing password, and puts where the host keeps (or makes) one. */
export const PASSWORD_MARKER = '@PEF_SECRET@';

/** The PuppetDB conf dirs pef looks at, AIO first when Puppet's confdir is AIO's. */
export function puppetdbConfDirCandidates(confdir: string): string[] {
  const aio = '/etc/puppetlabs/puppetdb';
  const debian = '/etc/puppetdb';
  return confdir.startsWith('/etc/puppetlabs/') ? [aio, debian] : [debian, aio];
}

/** Prints the first candidate PuppetDB conf dir holding conf.d/, or nothing. */
export function findPuppetdbConfDirCommand(confdir: string): string {
  return `for d in ${puppetdbConfDirCandidates(confdir).map(shQuote).join(' ')}; do [ -d "$d/conf.d" ] && { echo "$d"; break; }; done; true`;
}

/** Prints an INI file with any non-empty password value replaced by PASSWORD_MARKER; nothing if missing. */
export function redactedIniCommand(path: string): string {
  return `sed -E 's/^([[:space:]]*password[[:space:]]*=[[:space:]]*)[^[:space:]].*$/\\1${PASSWORD_MARKER}/' ${shQuote(path)} 2>/dev/null || true`;
}

// The password as the host reads it from database.ini (last `password =` line, trimmed).
const readPassword = (ini: string): string =>
  `pw=$(sed -n -E 's/^[[:space:]]*password[[:space:]]*=[[:space:]]*//p' ${shQuote(ini)} 2>/dev/null | tail -n 1 | sed -E 's/[[:space:]]+$//')`;

/**
 * Writes database.ini from `text` (as redactedIniCommand shows it), the host putting its password
 * where PASSWORD_MARKER is: the one already in the file, or a new random one.
 */
export function writeDatabaseIniCommand(path: string): string {
  return [
    readPassword(path),
    '[ -n "$pw" ] || pw=$(head -c 32 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 24)',
    `PW="$pw" awk -v m=${shQuote(PASSWORD_MARKER)} '{ i = index($0, m); if (i > 0 && $0 ~ /^[ \\t]*password[ \\t]*=/) print substr($0, 1, i - 1) ENVIRON["PW"]; else print }' | ${writeFileCommand(path, 'keep')}`,
  ].join('\n');
}

/** Where PuppetDB's database is, from database.ini's `subname = //host[:port]/db`. */
export interface DatabaseTarget {
  host: string;
  port: number;
  database: string;
  username: string;
}

/** Reads database.ini's [database] subname and username; null when there is no usable subname. */
export function parseDatabaseIni(text: string): DatabaseTarget | null {
  const subname = iniGet(text, 'database', 'subname') ?? '';
  const m = /^\/\/([^/:]+)(?::(\d+))?\/([^?]+)/.exec(subname);
  if (!m?.[1] || !m[3]) return null;
  return {
    host: m[1],
    port: Number(m[2] ?? 5432),
    database: m[3],
    username: iniGet(text, 'database', 'username') ?? m[3],
  };
}

const LOCAL = new Set(['localhost', '127.0.0.1', '::1']);

/**
 * The replica's database.ini: the primary's database name, user and port, on the replica's own
 * PostgreSQL (localhost stays localhost; a named host becomes the replica's `ownHost`), and the
 * password the replica has (or will have: the marker).
 */
export function replicaDatabaseIni(replicaText: string, primary: DatabaseTarget, ownHost: string): string {
  const host = LOCAL.has(primary.host) ? primary.host : ownHost;
  return iniSet(replicaText, 'database', {
    subname: `//${host}:${primary.port}/${primary.database}`,
    username: primary.username,
    password: PASSWORD_MARKER,
  });
}

/** The replica's jetty.ini: TLS on `sslHost`:8081 with the certificate copies in `<confDir>/ssl`. */
export function replicaJettyIni(text: string, confDir: string, sslHost: string): string {
  const ssl = puppetdbSslPaths(confDir);
  return iniSet(text, 'jetty', {
    'ssl-host': sslHost,
    'ssl-port': '8081',
    'ssl-key': ssl.key,
    'ssl-cert': ssl.cert,
    'ssl-ca-cert': ssl.ca,
  });
}

/** PuppetDB's copies of the host's certificate, key and CA certificate. */
export function puppetdbSslPaths(confDir: string): { dir: string; key: string; cert: string; ca: string } {
  const dir = `${confDir}/ssl`;
  return { dir, key: `${dir}/private.pem`, cert: `${dir}/public.pem`, ca: `${dir}/ca.pem` };
}

/** True for a listen address that means every interface. */
export function isWildcardHost(host: string | undefined): boolean {
  return host === undefined || host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** Prints the first IPv4 address `name` resolves to on the host. */
export function resolveAddressCommand(name: string): string {
  return `getent ahostsv4 ${shQuote(name)} 2>/dev/null | awk 'NR == 1 { print $1 }'`;
}

/** Prints `same=1` when `dst` has exactly `src`'s content, else `same=0`. */
export function sameContentCommand(src: string, dst: string): string {
  return `a=$(sha256sum < ${shQuote(src)} 2>/dev/null | cut -c1-64); b=$(sha256sum < ${shQuote(dst)} 2>/dev/null | cut -c1-64); [ -n "$a" ] && [ "$a" = "$b" ] && echo same=1 || echo same=0`;
}

/** Copies host file `src` (read without following a link) to `dst` root-safely with owner and mode. */
export function copyHostFileCommand(src: string, dst: string, owner: string, mode: string): string {
  return `dd if=${shQuote(src)} iflag=nofollow status=none | ${writeFileCommand(dst, { mode, owner, group: owner })}`;
}

/** Prints role=, database=, trgm= (1 or empty) and login=1|0 for PuppetDB's database on the replica. */
export function databaseCheckCommand(pg: PgTools, ini: string, db: DatabaseTarget): string {
  const q = (sql: string, database = 'postgres') =>
    `${asSuperuser(pg, 'psql', ['-X', '-A', '-t', '-d', database, '-c', sql])} 2>/dev/null`;
  return [
    `echo "role=$(${q(`SELECT 1 FROM pg_roles WHERE rolname = ${sqlLiteral(db.username)}`)})"`,
    `echo "database=$(${q(`SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral(db.database)}`)})"`,
    `echo "trgm=$(${q("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'", db.database)})"`,
    readPassword(ini),
    `if [ -n "$pw" ] && PGPASSWORD="$pw" PGCONNECT_TIMEOUT=5 ${shQuote(`${pg.bin}/psql`)} -X -A -t -h ${shQuote(db.host)} -p ${db.port} -U ${shQuote(db.username)} -d ${shQuote(db.database)} -c 'SELECT 1' >/dev/null 2>&1; then echo login=1; else echo login=0; fi`,
  ].join('\n');
}

/** What databaseCheckCommand found. */
export interface DatabaseCheck {
  role: boolean;
  database: boolean;
  trgm: boolean;
  login: boolean;
}

/** Reads databaseCheckCommand's output. */
export function parseDatabaseCheck(stdout: string): DatabaseCheck {
  const kv = parseKeyValues(stdout);
  return {
    role: kv.get('role') === '1',
    database: kv.get('database') === '1',
    trgm: kv.get('trgm') === '1',
    login: kv.get('login') === '1',
  };
}

/**
 * Creates PuppetDB's role and database where missing, sets the role's password to database.ini's
 * (SQL on stdin, the password from the file), and the pg_trgm extension PuppetDB needs. As
 * PuppetDB's own setup documents it: the role owns the database and may create in public.
 */
export function ensureDatabaseCommand(pg: PgTools, ini: string, db: DatabaseTarget): string {
  const role = sqlIdent(db.username);
  const psql = (database: string) =>
    asSuperuser(pg, 'psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', database]);
  // \gexec runs the generated statement only when the row exists: CREATE … IF NOT EXISTS for
  // roles and databases, which PostgreSQL lacks. Quoted heredoc delimiters keep $ literal except
  // where the password is let in.
  return [
    'set -e',
    readPassword(ini),
    `[ -n "$pw" ] || { echo ${shQuote(`pef: no password in ${ini}`)} >&2; exit 3; }`,
    `pwq=$(printf '%s' "$pw" | sed "s/'/''/g")`,
    `${psql('postgres')} <<PEF_SQL`,
    `SELECT 'CREATE ROLE ' || quote_ident(${sqlLiteral(db.username)}) || ' LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${sqlLiteral(db.username)})\\gexec`,
    `ALTER ROLE ${role} WITH LOGIN PASSWORD '$pwq';`,
    `SELECT 'CREATE DATABASE ' || quote_ident(${sqlLiteral(db.database)}) || ' OWNER ' || quote_ident(${sqlLiteral(db.username)}) || ' ENCODING ''UTF8'' TEMPLATE template0' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral(db.database)})\\gexec`,
    'PEF_SQL',
    `${psql(db.database)} <<'PEF_SQL'`,
    'CREATE EXTENSION IF NOT EXISTS pg_trgm;',
    'REVOKE CREATE ON SCHEMA public FROM public;',
    `GRANT CREATE ON SCHEMA public TO ${role};`,
    'PEF_SQL',
  ].join('\n');
}

/** The TLS files of a host's Puppet certificate, as `puppet config print` names them. */
export interface HostTls {
  cert: string;
  key: string;
  ca: string;
}

/** Prints hostcert=, hostprivkey=, localcacert= of the host's Puppet (server section). */
export function hostTlsCommand(puppet: string): string {
  return `${shQuote(puppet)} config print hostcert hostprivkey localcacert --section server 2>/dev/null | sed -n 's/^\\([a-z]*\\) = \\(.*\\)$/\\1=\\2/p'`;
}

/** Reads hostTlsCommand's output; null when a path is missing. */
export function parseHostTls(stdout: string): HostTls | null {
  const kv = parseKeyValues(stdout);
  const cert = kv.get('hostcert');
  const key = kv.get('hostprivkey');
  const ca = kv.get('localcacert');
  return cert && key && ca ? { cert, key, ca } : null;
}

/** curl with the host's certificate (for the servers' TLS APIs); `extra` arguments and the URL are quoted. */
export function curlWithCert(tls: HostTls, url: string, extra: readonly string[] = []): string {
  return [
    'curl -sS --max-time 30',
    `--cacert ${shQuote(tls.ca)} --cert ${shQuote(tls.cert)} --key ${shQuote(tls.key)}`,
    ...extra.map(shQuote),
    shQuote(url),
  ].join(' ');
}

/**
 * Waits up to `seconds` for each URL's /status/v1/simple to answer `running` (JVMs take minutes
 * to boot) and prints `status.<n>=<answer>` for each, in order.
 */
export function healthCommand(tls: HostTls, baseUrls: readonly string[], seconds: number): string {
  return baseUrls
    .map((base, i) =>
      [
        `s=; i=0; while [ "$i" -lt ${seconds} ]; do s=$(${curlWithCert(tls, `${base}/status/v1/simple`)} 2>&1 | head -c 200 | tr -d '\\n'); [ "$s" = running ] && break; sleep 2; i=$((i + 2)); done`,
        `echo "status.${i}=$s"`,
      ].join('\n'),
    )
    .join('\n');
}
