/**
 * Human-readable summaries printed after a run (progress is the renderer's job).
 */
import type { ResultSet } from '../executor/result.js';
import type { PlanResult } from '../plan/run-plan.js';
import type { ParamDoc } from '../task/params.js';
import { redact } from '../util/sensitive.js';

/** A parameter table for `task show` / `plan show`. */
export function formatParams(params: readonly ParamDoc[]): string {
  if (params.length === 0) return 'Parameters: none';
  const lines = params.map((p) => {
    const flags = [p.required ? 'required' : 'optional', p.sensitive ? 'sensitive' : ''].filter(Boolean).join(', ');
    const def = p.default === undefined ? '' : ` (default: ${JSON.stringify(p.default)})`;
    return `  ${p.name}  <${p.type}>  ${flags}${def}\n      ${p.description}`;
  });
  return `Parameters:\n${lines.join('\n')}`;
}

/** One line per target, then the commands a noop run would have sent. */
export function formatResultSet(set: ResultSet, noop: boolean): string {
  const lines: string[] = [];
  for (const r of set) {
    if (r.status === 'failure') {
      lines.push(`✗ ${r.target}: ${r.error?.msg ?? 'failed'}`);
      continue;
    }
    const change =
      r.changed === undefined
        ? ''
        : noop
          ? r.changed
            ? ' (would change)'
            : ' (no change needed)'
          : r.changed
            ? ' (changed)'
            : ' (no change)';
    lines.push(`✓ ${r.target}${change}`);
    if (Object.keys(r.value).length > 0) lines.push(indent(JSON.stringify(r.value, null, 2)));
    const wouldRun = r.noop?.wouldRun ?? [];
    if (wouldRun.length > 0) lines.push(`  would run:\n${wouldRun.map((c) => `    $ ${c}`).join('\n')}`);
  }
  const failed = set.errorSet().length;
  lines.push(
    `\n${failed === 0 ? 'Ran' : `Failed on ${failed} of`} ${set.results.length} target(s) in ${(set.elapsedMs / 1000).toFixed(2)}s`,
  );
  return redact(lines.join('\n'));
}

/** Steps with their status; in noop, per host, the commands each step would run. */
export function formatPlanResult(result: PlanResult): string {
  const lines: string[] = [`Plan ${result.plan}${result.noop ? ' (noop: nothing was changed)' : ''}`];
  for (const step of result.steps) {
    const mark = { success: '✓', failure: '✗', skipped: '↷', 'not-run': '·' }[step.status];
    lines.push(
      `${mark} ${step.name} ${step.status === 'success' || step.status === 'failure' ? `(${step.elapsed_time.toFixed(1)}s)` : `(${step.status})`}`,
    );
    if (result.noop) {
      for (const set of step.results) {
        for (const item of set.items) {
          const cmds = item._would_run ?? [];
          if (cmds.length > 0)
            lines.push(`    ${item.target} · ${item.object}:\n${cmds.map((c) => `      $ ${c}`).join('\n')}`);
          if (item._preview === 'unsupported')
            lines.push(`    ${item.target} · ${item.object}: not run (the task cannot preview its commands)`);
        }
      }
    }
    if (step.error) lines.push(indent(step.error.msg, 4));
  }
  lines.push(
    result.status === 'success'
      ? `\nPlan ${result.plan} finished in ${result.elapsed_time.toFixed(1)}s: ${result.changed === 0 ? 'nothing to change' : `${result.changed} change(s)${result.noop ? ' would be made' : ''}`}`
      : `\n${result.error?.msg ?? 'Plan failed'}`,
  );
  return redact(lines.join('\n'));
}

function indent(text: string, n = 2): string {
  return text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}
