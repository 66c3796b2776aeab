/**
 * agent_check: a noop Puppet run on agents against a chosen server list, reporting which server
 * compiled the catalog. The answer comes from the run's own report (`server_used`, `master_used`
 * before Puppet 6.15), written to a temp file so the agent's real last_run_report.yaml and
 * last_run_summary.yaml (what monitoring reads) stay as they were. Changes nothing the agent
 * manages: `changed` is always false.
 */
import { z } from 'zod';
import { PefError } from '../src/errors/pef-error.js';
import { formatServerList, serverHost, serverListParam } from '../src/puppet/server-list.js';
import { defineTask } from '../src/task/task.js';
import { shQuote } from '../src/util/shell-quote.js';

const REPORT_MARK = '--- pef report';

/** The noop run; prints the agent's output, then REPORT_MARK and the report's top-level fields pef reads. */
export function agentCheckCommand(serverList: readonly string[] | undefined): string {
  const list = serverList === undefined ? '' : ` --server_list=${shQuote(formatServerList(serverList))}`;
  return [
    'PATH=/opt/puppetlabs/bin:$PATH',
    // Safe in /tmp: mktemp -d creates a fresh 0700 directory under an unpredictable name.
    'd=$(mktemp -d /tmp/pef-agent-check.XXXXXX) || exit 1',
    `puppet agent --test --noop --color=false${list} --lastrunreport="$d/report.yaml" --lastrunfile="$d/summary.yaml" 2>&1; rc=$?`,
    `echo ${shQuote(REPORT_MARK)}`,
    `grep -E '^(server_used|master_used|status|noop|environment|puppet_version|configuration_version|host):' "$d/report.yaml" 2>/dev/null`,
    'rm -rf "$d"',
    'exit $rc',
  ].join('\n');
}

/** What one agent run said. */
export interface AgentRun {
  output: string;
  report: Record<string, string>;
  /** `host:port` of the server that compiled the catalog, or null when the report does not say. */
  serverUsed: string | null;
}

/** Splits `agentCheckCommand` output into the run's output and its report fields. */
export function parseAgentRun(stdout: string): AgentRun {
  const at = stdout.lastIndexOf(REPORT_MARK);
  const output = at < 0 ? stdout : stdout.slice(0, at);
  const report: Record<string, string> = {};
  if (at >= 0) {
    for (const line of stdout.slice(at + REPORT_MARK.length).split('\n')) {
      const m = /^([a-z_]+):\s*(.*)$/.exec(line.trim());
      if (m?.[1] && m[2] !== undefined) report[m[1]] = m[2].replace(/^["']|["']$/g, '');
    }
  }
  // The report may be missing when the run failed early; the agent's own log line is the fallback.
  const logged = /Requesting catalog from (\S+?:\d+)/.exec(output)?.[1] ?? null;
  return { output, report, serverUsed: report['server_used'] || report['master_used'] || logged };
}

/** Why a `puppet agent --test` exit code is a failure; null for 0 and 2 (success, with or without pending changes). */
export function agentExitProblem(exitCode: number | null, output: string): string | null {
  if (exitCode === 0 || exitCode === 2) return null;
  if (/administratively disabled/i.test(output))
    return 'the agent is disabled (puppet agent --enable, once whoever disabled it agrees)';
  if (/already in progress/i.test(output)) return 'another Puppet run is in progress; try again when it has finished';
  if (exitCode === 4 || exitCode === 6)
    return `the catalog was compiled but resources failed in noop (exit ${exitCode})`;
  return `the run failed (exit ${exitCode ?? 'signal'}): no server in the list answered, or the catalog could not be compiled`;
}

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
