/**
 * Starting, stopping and querying Puppet's services on a host, the same way everywhere: through
 * systemctl on systemd hosts, through the lab's `pef-lab-service` shim on lab hosts, and through
 * `puppet resource service` on anything else. Order matters: the agent stops first and the
 * database last; starting runs the other way round (GUIDE.md, "Services on hosts").
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
 * The command for one action on one service. `status` exits 0 when running and non-zero when
 * not, on every manager; `start` returns once the service is up where the manager can tell.
 */
export function serviceCommand(manager: ServiceManager, action: ServiceAction, service: string): string {
  const name = shQuote(service);
  switch (manager) {
    case 'systemd':
      return action === 'status' ? `systemctl is-active --quiet ${name}` : `systemctl ${action} ${name}`;
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
