/**
 * A noop `puppet agent --test` against a chosen server list, as agent_check runs it: the command
 * (the run's report goes to a temp file, so the agent's real last_run_report.yaml and
 * last_run_summary.yaml stay as they were), its output read into the compiling server, and which
 * exit codes are failures.
 */
import { shQuote } from '../util/shell-quote.js';
import { formatServerList } from './server-list.js';

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
