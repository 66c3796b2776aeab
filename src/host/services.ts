/**
 * Starting, stopping and querying Puppet's services on a host, the same way everywhere: through
 * systemctl on systemd hosts, through the lab's `pef-lab-service` shim on lab hosts, and through
 * `puppet resource service` on anything else. Order matters: the agent stops first and the
 * database last; starting runs the other way round, so a server never starts before its database.
 *
 * A `status` answers with LSB's exit codes, which `systemctl status` follows too: 0 running,
 * 1-3 not running (dead with a pid file, dead with a lock file, stopped), 4 unknown (systemd: no
 * such unit; an LSB init script: status unknown). The lab shim answers the same.
 * `serviceStatus` is the one place that reads them; any other code is an error, not a guess.
 */
import { shQuote } from '../util/shell-quote.js';

/** How a host manages services. */
export type ServiceManager = 'systemd' | 'lab' | 'puppet-resource';

/** The shell probe whose output `parseServiceManager` reads. */
export const SERVICE_MANAGER_PROBE =
  'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo systemd; ' +
  'elif command -v pef-lab-service >/dev/null 2>&1; then echo lab; else echo puppet-resource; fi';

/** Reads the probe's answer. */
export function parseServiceManager(output: string): ServiceManager {
  const word = output.trim();
  return word === 'systemd' || word === 'lab' ? word : 'puppet-resource';
}

/** Known Puppet services, in stop order (agent first, database last). */
export const STOP_ORDER: readonly string[] = [
  'puppet',
  'pe-orchestration-services',
  'pe-nginx',
  'pe-console-services',
  'pe-puppetserver',
  'puppetserver',
  'pe-puppetdb',
  'puppetdb',
  'pe-postgresql',
  'postgresql',
];

/** Sorts service names for stopping: agent first, database last; unknown names keep their place at the end. */
export function stopOrder(services: readonly string[]): string[] {
  return [...services].sort((a, b) => rank(a) - rank(b));
}

/** Sorts service names for starting: database first, agent last. */
export function startOrder(services: readonly string[]): string[] {
  return stopOrder(services).reverse();
}

function rank(name: string): number {
  const i = STOP_ORDER.indexOf(name);
  return i < 0 ? STOP_ORDER.length : i;
}

/** An action on a service. */
export type ServiceAction = 'start' | 'stop' | 'restart' | 'reload' | 'status';

/**
 * The command for one action on one service. `status` answers LSB's exit codes (read them with
 * `serviceStatus`); `start` returns once the service is up where the manager can tell.
 */
export function serviceCommand(manager: ServiceManager, action: ServiceAction, service: string): string {
  const name = shQuote(service);
  switch (manager) {
    case 'systemd':
      // `is-active` answers 3 for an unknown unit too; `status` tells it apart (4).
      return action === 'status'
        ? `systemctl status --no-pager --lines=0 ${name} >/dev/null 2>&1`
        : `systemctl ${action} ${name}`;
    case 'lab':
      return `pef-lab-service ${action} ${name}`;
    case 'puppet-resource': {
      // puppet resource cannot reload; a restart is the closest it offers.
      if (action === 'reload') return serviceCommand(manager, 'restart', service);
      if (action === 'status') return `puppet resource service ${name} | grep -q "ensure *=> *'running'"`;
      if (action === 'restart')
        return `puppet resource service ${name} ensure=stopped >/dev/null && puppet resource service ${name} ensure=running >/dev/null`;
      return `puppet resource service ${name} ensure=${action === 'start' ? 'running' : 'stopped'} >/dev/null`;
    }
  }
}

/** What a service's `status` said. */
export type ServiceStatus = 'running' | 'stopped' | 'unknown';

/** The exit code of `status` for a service the host does not have (systemd) or whose state is unknown (LSB). */
export const STATUS_UNKNOWN_EXIT = 4;

/** The exit codes a `status` command may answer; anything else fails the command. */
export const STATUS_EXIT_CODES: readonly number[] = [0, 1, 2, 3, STATUS_UNKNOWN_EXIT];

/** Reads a `status` exit code (LSB's table, see the file comment); null for a code outside it. */
export function serviceStatus(exitCode: number | null): ServiceStatus | null {
  if (exitCode === 0) return 'running';
  if (exitCode === 1 || exitCode === 2 || exitCode === 3) return 'stopped';
  if (exitCode === STATUS_UNKNOWN_EXIT) return 'unknown';
  return null;
}

/** What `readServiceStatus` needs of a host (a task's context or a peer). */
export interface ServiceHost {
  read(command: string, options?: { okExitCodes?: readonly number[] }): Promise<{ exitCode: number | null }>;
}

/**
 * Asks `host` for one service's status. A code outside LSB's table fails the read
 * (`pef/command-failed`), so a broken status command is never taken for "stopped".
 */
export async function readServiceStatus(
  host: ServiceHost,
  manager: ServiceManager,
  service: string,
): Promise<ServiceStatus> {
  const out = await host.read(serviceCommand(manager, 'status', service), { okExitCodes: STATUS_EXIT_CODES });
  return serviceStatus(out.exitCode) ?? 'unknown';
}
