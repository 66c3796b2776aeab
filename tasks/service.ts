/**
 * service: start, stop, restart or report Puppet's services in dependency order, on systemd hosts,
 * hosts without systemd (`puppet resource service`), and lab hosts (`pef-lab-service`).
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import {
  SERVICE_MANAGER_PROBE,
  parseServiceManager,
  readServiceStatus,
  serviceCommand,
  startOrder,
  stopOrder,
} from '../src/host/services.js';
import { defineTask } from '../src/task/task.js';

/** Controls services in order; idempotent (a running service is not started again). */
export const service = defineTask({
  name: 'service',
  description: 'Start, stop, restart or report Puppet services in dependency order',
  details: `Stopping goes agent first, database last; starting the other way round, whatever order
the names are given in. A service already in the wanted state is left alone (changed: false).
A name the host has no service for is refused before anything changes. On a failure the task stops at once and reports which services it already changed.`,
  params: z.object({
    action: z.enum(['start', 'stop', 'restart', 'status']).describe('what to do'),
    services: z.array(z.string().min(1)).min(1).describe('service names, e.g. ["puppetserver","puppetdb"]'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const manager = parseServiceManager((await ctx.read(SERVICE_MANAGER_PROBE)).stdout);
    const { action } = ctx.params;
    const ordered = action === 'start' ? startOrder(ctx.params.services) : stopOrder(ctx.params.services);
    const before: Record<string, boolean> = {};
    const unknown: string[] = [];
    for (const name of ordered) {
      const status = await readServiceStatus(ctx, manager, name);
      if (status === 'unknown') unknown.push(name);
      before[name] = status === 'running';
    }
    // Before any change: a misspelt name would otherwise fail halfway through the order.
    if (unknown.length > 0)
      throw new PefError(
        'pef/task-failed',
        `service on ${ctx.target.name}: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a service here (${manager} knows no such service). Fix the services parameter and run again. Nothing was changed.`,
        { manager, unknown },
      );
    if (action === 'status') return { changed: false, value: { manager, running: before } };

    const done: string[] = [];
    for (const name of ordered) {
      const wanted = action !== 'stop';
      if (action !== 'restart' && before[name] === wanted) continue;
      try {
        await ctx.change(serviceCommand(manager, action === 'restart' && !before[name] ? 'start' : action, name));
      } catch (error) {
        throw new PefError(
          'pef/task-failed',
          `${action} ${name} failed on ${ctx.target.name}${done.length ? ` after ${action === 'stop' ? 'stopping' : 'starting'} ${done.join(', ')}` : ''}: ${(error as Error).message}`,
          { manager, action, failed: name, done },
        );
      }
      done.push(name);
    }
    return {
      changed: done.length > 0,
      value: { manager, [action === 'stop' ? 'stopped' : action === 'start' ? 'started' : 'restarted']: done },
    };
  },
});
