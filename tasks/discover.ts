/**
 * discover: what this Puppet host is — flavor, versions, certname, DNS alt names, the real
 * directories, services, PostgreSQL and free disk — read from the host, never assumed.
 */
import { z } from 'zod';
import { discoverHost } from '../src/host/discover.js';
import { defineTask } from '../src/task/task.js';

/** Reads the host's Puppet facts; changes nothing. */
export const discover = defineTask({
  name: 'discover',
  description: 'Discover flavor, versions, certname, paths, services and PostgreSQL of a Puppet host',
  details: `Read-only. Paths come from \`puppet config print\` (confdir, codedir, ssldir, cadir, vardir);
services from systemd, the lab's service shim, or \`puppet resource service\`; databases from psql
when PostgreSQL runs. Other tasks use the same probe.`,
  params: z.object({}),
  supportsNoop: true,
  async run(ctx) {
    const facts = await discoverHost((command) => ctx.read(command));
    return { changed: false, value: { ...facts } };
  },
});
