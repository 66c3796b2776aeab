/**
 * `pef status` for a terminal: who is active, one line per data kind, then every problem. Kept
 * under 80 columns: long values (errors) are cut in the table and given whole under Problems.
 */
import type { StatusDocument } from '../replication/status.js';
import { duration } from '../replication/status-jobs.js';
import { redact } from '../util/sensitive.js';

const ERROR_WIDTH = 24;

/** The status document as a narrow table. */
export function formatStatus(doc: StatusDocument): string {
  const server = (name: string | null): string => {
    if (name === null) return '?';
    const answers = Object.values(doc.answers_8140[name] ?? {});
    const on8140 = answers.includes(true)
      ? 'answers on 8140'
      : answers.includes(false)
        ? 'NOT answering on 8140'
        : '8140 unknown';
    const ks = doc.kill_switch[name] ? ', KILL-SWITCH ON' : '';
    const mode = doc.modes[name] === 'fenced' ? 'FENCED' : (doc.modes[name] ?? 'mode unset');
    const epoch = doc.epoch[name];
    // The mode word alone: "(passive, epoch 2, …)" keeps the line under 80 columns.
    return `${name} (${mode}, epoch ${epoch === 'invalid' ? 'INVALID' : (epoch ?? 0)}, ${on8140}${ks})`;
  };
  const lines = [
    `pef status: ${doc.healthy ? 'healthy' : 'NOT HEALTHY'}${doc.flavor ? ` (${doc.flavor})` : ''}`,
    `active   ${server(doc.active)}`,
    `replica  ${server(doc.replica)}`,
    `code     ${doc.code_drift === null ? 'unknown' : doc.code_drift ? 'DRIFT' : 'same on both'}`,
    '',
    row('KIND', 'LAST SUCCESS', 'AGE', 'LAG', 'ERROR'),
    ...doc.data.map((d) =>
      row(
        d.kind,
        d.last_success?.replace(/\.\d+Z$/, 'Z') ?? '-',
        d.age_s === null ? '-' : duration(d.age_s),
        d.lag === null ? '?' : String(d.lag),
        d.error === null ? '-' : cut(d.error, ERROR_WIDTH),
      ),
    ),
  ];
  if (doc.problems.length > 0) lines.push('', 'Problems:', ...doc.problems.map((p) => `  - ${p}`));
  return redact(lines.join('\n'));
}

function row(kind: string, last: string, age: string, lag: string, error: string): string {
  return `${kind.padEnd(14)}${last.padEnd(22)}${age.padStart(5)}${lag.padStart(6)}  ${error}`;
}

function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
