/**
 * What a Puppet host is, read from the host itself: flavor, versions, certname, DNS alt names,
 * the directories Puppet really uses (`puppet config print`, never assumed: Debian uses
 * /etc/puppet and /var/lib/puppet, the AIO packages /etc/puppetlabs, PE 2021+ keeps the CA in
 * /etc/puppetlabs/puppetserver/ca), services, PostgreSQL, and free disk. One round trip of
 * read-only commands; every other task builds on these facts.
 */
import { shQuote } from '../util/shell-quote.js';
import { SERVICE_MANAGER_PROBE, parseServiceManager, type ServiceManager } from './services.js';

/** Services pef looks for, per flavor. */
export const KNOWN_SERVICES = {
  oss: ['puppet', 'puppetserver', 'puppetdb', 'postgresql'],
  pe: [
    'puppet',
    'pe-puppetserver',
    'pe-puppetdb',
    'pe-postgresql',
    'pe-console-services',
    'pe-orchestration-services',
    'pe-nginx',
  ],
} as const;

/** A service and its state. */
export interface ServiceFact {
  name: string;
  present: boolean;
  running: boolean;
}

/** Everything `discover` learns about a host. */
export interface HostFacts {
  flavor: 'pe' | 'oss';
  peVersion: string | null;
  certname: string;
  dnsAltNames: string[];
  /** The server this host's agent talks to, and its CA server. */
  server: string;
  caServer: string;
  paths: { puppet: string; confdir: string; codedir: string; ssldir: string; cadir: string; vardir: string };
  versions: { agent: string | null; server: string | null; puppetdb: string | null; postgresql: string | null };
  /** Whether a CA exists here (cadir holds ca_crt.pem). */
  hasCa: boolean;
  serviceManager: ServiceManager;
  systemd: boolean;
  services: ServiceFact[];
  postgres: { bin: string | null; superuser: string; databases: string[] | null };
  /** Free space in KiB per path checked. */
  diskFreeKb: Record<string, number>;
}

// Each line is `key=value`; lines that are not are ignored. Read-only throughout.
/** The probe script; its output is read by `parseDiscovery`. */
export const DISCOVER_SCRIPT = `
PATH=/opt/puppetlabs/bin:/opt/puppetlabs/server/bin:$PATH:/usr/sbin:/sbin
manager=$(${SERVICE_MANAGER_PROBE})
echo "service_manager=$manager"
[ -d /run/systemd/system ] && echo systemd=true || echo systemd=false
PUPPET=$(command -v puppet 2>/dev/null || true)
echo "puppet_bin=$PUPPET"
if [ -r /opt/puppetlabs/server/pe_version ]; then echo flavor=pe; echo "pe_version=$(cat /opt/puppetlabs/server/pe_version)"; else echo flavor=oss; fi
pkgver() { dpkg-query -W -f='\${Version}' "$1" 2>/dev/null || rpm -q --qf '%{VERSION}' "$1" 2>/dev/null || true; }
if [ -n "$PUPPET" ]; then
  echo "version.agent=$("$PUPPET" --version 2>/dev/null)"
  "$PUPPET" config print certname dns_alt_names confdir codedir ssldir cadir vardir server ca_server --section server 2>/dev/null | sed -n 's/^\\([a-z_]*\\) = \\(.*\\)$/config.\\1=\\2/p'
fi
echo "version.server=$(pkgver puppetserver)$(pkgver pe-puppetserver)"
echo "version.puppetdb=$(pkgver puppetdb)$(pkgver pe-puppetdb)"
for s in ${[...new Set([...KNOWN_SERVICES.oss, ...KNOWN_SERVICES.pe])].join(' ')}; do
  case $manager in
    systemd) systemctl cat "$s" >/dev/null 2>&1 && present=1 || present=0
             systemctl is-active --quiet "$s" && running=1 || running=0 ;;
    lab) pef-lab-service status "$s" >/dev/null 2>&1; rc=$?
         [ $rc -eq 5 ] && present=0 || present=1; [ $rc -eq 0 ] && running=1 || running=0 ;;
    *) [ -n "$(pkgver "$s")" ] && present=1 || present=0
       [ "$present" = 1 ] && [ -n "$PUPPET" ] && "$PUPPET" resource service "$s" 2>/dev/null | grep -q "ensure *=> *'running'" && running=1 || running=0 ;;
  esac
  echo "service.$s=$present,$running"
done
if [ -x /opt/puppetlabs/server/bin/pg_dump ]; then pgbin=/opt/puppetlabs/server/bin; else pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1); fi
echo "postgres.bin=$pgbin"
id pe-postgres >/dev/null 2>&1 && pguser=pe-postgres || pguser=postgres
echo "postgres.superuser=$pguser"
[ -n "$pgbin" ] && echo "version.postgresql=$("$pgbin/postgres" --version 2>/dev/null | sed 's/[^0-9.]*//')"
if [ -n "$pgbin" ] && id "$pguser" >/dev/null 2>&1; then
  dbs=$(cd / && runuser -u "$pguser" -- "$pgbin/psql" -X -d postgres -Atc "select datname from pg_database where not datistemplate order by 1" 2>/dev/null | tr '\\n' ',')
  [ $? -eq 0 ] && [ -n "$dbs" ] && echo "postgres.databases=$dbs"
fi
exit 0
`;

/** Reads the probe's output into HostFacts. */
export function parseDiscovery(stdout: string): HostFacts {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const get = (key: string): string => kv.get(key) ?? '';
  const orNull = (key: string): string | null => get(key) || null;
  const flavor = get('flavor') === 'pe' ? 'pe' : 'oss';
  const cadir = get('config.cadir');
  const services: ServiceFact[] = KNOWN_SERVICES[flavor].map((name) => {
    const [present = '0', running = '0'] = get(`service.${name}`).split(',');
    return { name, present: present === '1', running: running === '1' };
  });
  const databases = kv.has('postgres.databases') ? get('postgres.databases').split(',').filter(Boolean) : null;
  const diskFreeKb: Record<string, number> = {};
  for (const [key, value] of kv) if (key.startsWith('disk.')) diskFreeKb[key.slice(5)] = Number(value);
  return {
    flavor,
    peVersion: orNull('pe_version'),
    certname: get('config.certname'),
    dnsAltNames: get('config.dns_alt_names')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    server: get('config.server'),
    caServer: get('config.ca_server'),
    paths: {
      puppet: get('puppet_bin'),
      confdir: get('config.confdir'),
      codedir: get('config.codedir'),
      ssldir: get('config.ssldir'),
      cadir,
      vardir: get('config.vardir'),
    },
    versions: {
      agent: orNull('version.agent'),
      server: orNull('version.server'),
      puppetdb: orNull('version.puppetdb'),
      postgresql: orNull('version.postgresql'),
    },
    hasCa: get('has_ca') === 'true',
    serviceManager: parseServiceManager(get('service_manager')),
    systemd: get('systemd') === 'true',
    services,
    postgres: { bin: orNull('postgres.bin'), superuser: get('postgres.superuser') || 'postgres', databases },
    diskFreeKb,
  };
}

/** A second probe that needs paths from the first: the CA and free disk. */
export function followUpScript(facts: HostFacts): string {
  const dirs = [facts.paths.cadir, facts.paths.ssldir, '/var/lib', '/tmp'].filter(Boolean);
  return [
    facts.paths.cadir
      ? `[ -f ${shQuote(facts.paths.cadir)}/ca_crt.pem ] && echo has_ca=true || echo has_ca=false`
      : 'echo has_ca=false',
    // The key reaches awk through the environment: a path is data, never part of the program.
    ...dirs.map(
      (d) => `df -Pk ${shQuote(d)} 2>/dev/null | K=${shQuote(`disk.${d}`)} awk 'NR==2 {print ENVIRON["K"] "=" $4}'`,
    ),
  ].join('\n');
}

/** Runs both probes through `read` and returns the facts. */
export async function discoverHost(read: (command: string) => Promise<{ stdout: string }>): Promise<HostFacts> {
  const first = await read(DISCOVER_SCRIPT);
  const facts = parseDiscovery(first.stdout);
  const second = await read(followUpScript(facts));
  return parseDiscovery(`${first.stdout}\n${second.stdout}`);
}
