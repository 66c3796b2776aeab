/**
 * check_connection: proves pef can reach a target and act on it as intended — the login works,
 * privilege escalation lands on the expected user, and the host is the one we think it is.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { CONNECTION_PROBE, parseConnectionProbe } from '../src/host/connection-probe.js';
import { defineTask } from '../src/task/task.js';

/** Reads hostname, effective user, kernel and OS; changes nothing. */
export const checkConnection = defineTask({
  name: 'check_connection',
  description: 'Check that a target is reachable and commands run as the expected user',
  details: `Runs read-only commands (hostname, id, uname, /etc/os-release) and reports them.
Use it before any plan to catch wrong addresses, keys, host keys or sudo settings early.`,
  params: z.object({
    expect_user: z.string().min(1).optional().describe('Fail unless commands run as this user (e.g. root)'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const { hostname, user, kernel, os } = parseConnectionProbe((await ctx.read(CONNECTION_PROBE)).stdout);
    if (ctx.params.expect_user !== undefined && user !== ctx.params.expect_user) {
      throw new PefError(
        'pef/task-failed',
        `${ctx.target.name}: commands run as "${user}", expected "${ctx.params.expect_user}". Check run-as / user in the inventory.`,
        {
          user,
          expected: ctx.params.expect_user,
        },
      );
    }
    return { changed: false, value: { hostname, user, kernel, os } };
  },
});
