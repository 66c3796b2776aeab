/**
 * `pef lab status`: each host (holder alive?) and each service (up/down, controller pid), read
 * from the state file, /proc and the service shim inside each host.
 */
import { access } from 'node:fs/promises';
import type { LabRole, LabService, LabProfile } from './lab-layout.js';
import { LAB_SERVICES, labPaths } from './lab-layout.js';
import type { LabHostState, LabState } from './lab-state.js';
import { readLabState } from './lab-state.js';
import { isAlive, outerPid } from './lab-procfs.js';
import { runScriptInHost } from './lab-process.js';
import { labPartitions } from './lab-partition.js';

/** One service on one host. */
export interface LabServiceStatus {
  name: LabService;
  state: 'up' | 'down';
  /** Whether `lab up` leaves this service running. */
  expected: boolean;
  /** Controller pid of the service's main process when it is up. */
  pid?: number;
}

/** One host. */
export interface LabHostStatus {
  name: string;
  fqdn: string;
  role: LabRole;
  address: string;
  /** The host (its holder) exists. */
  running: boolean;
  /** Powered off by `pef lab stop` (its holder and disk remain; `pef lab start` boots it). */
  stopped: boolean;
  initPid?: number;
  services: LabServiceStatus[];
}

/** The whole lab. */
export interface LabStatus {
  dir: string;
  /** A state file exists in dir. */
  exists: boolean;
  /** Every host runs and every expected service is up. */
  healthy: boolean;
  profile?: LabProfile;
  phase?: LabState['phase'];
  reached?: LabState['reached'];
  /** Path of inventory.yaml when it exists. */
  inventory?: string;
  hosts: LabHostStatus[];
  /** Network partitions in force (`pef lab partition`), e.g. `primary controller`. */
  partitions: string[];
}

// One nsenter per host, the shim once per service.
function statusScript(services: readonly LabService[]): string {
  return `for s in ${services.join(' ')}; do
  out=$(pef-lab-service status "$s" 2>/dev/null); echo "$s $? $out"
done`;
}

/** Services `up` starts on a host, given how far it got. */
export function expectedServices(host: LabHostState, reached: LabState['reached']): readonly LabService[] {
  if (reached === 'full') return host.services;
  if (reached === 'ssh') return ['sshd'];
  return [];
}

async function hostStatus(host: LabHostState, state: LabState): Promise<LabHostStatus> {
  const expected = expectedServices(host, state.reached);
  const services = LAB_SERVICES[state.profile];
  const running = isAlive(host.initPid);
  const found = new Map<string, { up: boolean; pid?: number }>();
  if (running) {
    const out = await runScriptInHost(host.initPid, statusScript(services), [], { timeoutMs: 30_000 });
    for (const line of out.stdout.split('\n')) {
      const m = /^(\S+) (\d+) .*?(?:\(pid (\d+)\))?$/.exec(line);
      if (m?.[1] === undefined) continue;
      const inner = m[3] === undefined ? undefined : Number(m[3]);
      const pid = inner === undefined ? undefined : outerPid(host.initPid, inner);
      found.set(m[1], { up: m[2] === '0', ...(pid === undefined ? {} : { pid }) });
    }
  }
  return {
    name: host.name,
    fqdn: host.fqdn,
    role: host.role,
    address: host.address,
    running,
    stopped: host.stopped === true,
    ...(running ? { initPid: host.initPid } : {}),
    services: services.map((name) => {
      const s = found.get(name);
      return {
        name,
        state: s?.up === true ? 'up' : 'down',
        expected: expected.includes(name),
        ...(s?.up === true && s.pid !== undefined ? { pid: s.pid } : {}),
      };
    }),
  };
}

/** Status of the lab in `dir` (default `.pef-lab`). */
export async function labStatus(options: { dir?: string } = {}): Promise<LabStatus> {
  const paths = labPaths(options.dir);
  const state = await readLabState(paths);
  if (state === undefined) return { dir: paths.dir, exists: false, healthy: false, hosts: [], partitions: [] };
  const hosts = await Promise.all(state.hosts.map((h) => hostStatus(h, state)));
  const partitions = await labPartitions(state.addressPrefix);
  const inventory = await access(paths.inventory).then(
    () => paths.inventory,
    () => undefined,
  );
  const healthy =
    state.phase === 'up' &&
    hosts.length > 0 &&
    partitions.length === 0 &&
    hosts.every((h) => h.running && !h.stopped && h.services.every((s) => !s.expected || s.state === 'up'));
  return {
    dir: paths.dir,
    exists: true,
    healthy,
    profile: state.profile,
    phase: state.phase,
    reached: state.reached,
    ...(inventory === undefined ? {} : { inventory }),
    hosts,
    partitions,
  };
}

/** The status as a human table. */
export function formatLabStatus(status: LabStatus): string {
  if (!status.exists) return `no lab in ${status.dir} (start one with \`pef lab up\`)\n`;
  const rows: string[][] = [['HOST', 'ADDRESS', 'SERVICE', 'STATE', 'PID']];
  for (const h of status.hosts) {
    if (!h.running || h.stopped) {
      rows.push([h.fqdn, h.address, '(host)', h.stopped ? 'STOPPED' : 'down', '-']);
      continue;
    }
    for (const s of h.services) {
      if (s.state === 'down' && !s.expected) continue;
      rows.push([
        h.fqdn,
        h.address,
        s.name,
        s.state === 'up' ? 'up' : 'DOWN',
        s.pid === undefined ? '-' : String(s.pid),
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const table = rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
  const stopped = status.hosts
    .filter((h) => h.stopped)
    .map((h) => `stopped: ${h.name} (\`pef lab start ${h.name}\` boots it)\n`);
  const cuts = status.partitions.map((p) => `partition: ${p} (\`pef lab heal\` removes it)\n`);
  const summary = status.healthy
    ? `lab ${status.profile ?? ''} in ${status.dir}: healthy`
    : `lab in ${status.dir}: NOT healthy (phase ${status.phase ?? '?'}); \`pef lab up\` repairs it (boots stopped hosts, heals partitions, rebuilds what is broken)`;
  return `${table}\n\n${stopped.join('')}${cuts.join('')}${summary}\n${status.inventory === undefined ? '' : `inventory: ${status.inventory}\n`}`;
}
