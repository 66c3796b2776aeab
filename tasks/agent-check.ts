/**
 * agent_check: a noop Puppet run on agents against a chosen server list, reporting which server
 * compiled the catalog. The answer comes from the run's own report (`server_used`, `master_used`
 * before Puppet 6.15), written to a temp file so the agent's real last_run_report.yaml and
 * last_run_summary.yaml (what monitoring reads) stay as they were. Changes nothing the agent
 * manages: `changed` is always false.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { agentCheckCommand, agentExitProblem, parseAgentRun } from '../src/puppet/agent-run.js';
import { serverHost, serverListParam } from '../src/puppet/server-list.js';
import { defineTask } from '../src/task/task.js';

/** Runs the check; see the file comment. */
export const agentCheck = defineTask({
  name: 'agent_check',
  description: 'Noop Puppet run on agents (optionally with a server_list); reports which server compiled the catalog',
  details: `Runs \`puppet agent --test --noop [--server_list=…]\` on each target. Exit codes 0 and 2 are
success. value.server_used is the compiling server from the run's report. expect_server fails the
check when another server compiled. The agent's own last-run report files are not touched.`,
  params: z.object({
    server_list: serverListParam(
      "servers to try, in order (host[:port], array or comma string); default: the agent's own settings",
    ).optional(),
    expect_server: z
      .string()
      .min(1)
      .optional()
      .describe('fail unless this server (host or host:port) compiled the catalog'),
  }),
  supportsNoop: true,
  async run(ctx) {
    const name = ctx.target.name;
    const out = await ctx.read(agentCheckCommand(ctx.params.server_list), {
      okExitCodes: Array.from({ length: 256 }, (_, i) => i),
      timeoutMs: 900_000,
    });
    const run = parseAgentRun(out.stdout);
    const tail = run.output.trim().split('\n').slice(-8).join('\n');
    const problem = agentExitProblem(out.exitCode, run.output);
    const value = {
      server_used: run.serverUsed,
      server: run.serverUsed === null ? null : serverHost(run.serverUsed),
      exit_code: out.exitCode,
      would_change: out.exitCode === 2 || run.report['status'] === 'changed',
      status: run.report['status'] ?? null,
      environment: run.report['environment'] ?? null,
      server_list: ctx.params.server_list ?? null,
    };
    if (problem !== null) {
      throw new PefError(
        'pef/task-failed',
        `agent_check on ${name}: ${problem}${run.serverUsed ? ` (server used: ${run.serverUsed})` : ''}. Nothing was changed.\n${tail}`,
        value,
      );
    }
    const expected = ctx.params.expect_server;
    if (
      expected !== undefined &&
      run.serverUsed !== expected &&
      (run.serverUsed === null || serverHost(run.serverUsed) !== expected)
    ) {
      throw new PefError(
        'pef/task-failed',
        `agent_check on ${name}: the catalog was compiled by ${run.serverUsed ?? 'an unknown server (the run left no report)'}, not ${expected}. Nothing was changed.`,
        value,
      );
    }
    return { changed: false, value };
  },
});
