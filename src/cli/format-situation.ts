/**
 * The wizard's situation for a terminal: one line per server (mode, epoch, SSH, 8140), one per data
 * kind (the spare's copy and its age), the spare's problems, then the offer. Every line fits 60
 * columns except free text (reasons, problems), which is wrapped to the terminal's width, so a
 * narrow terminal never wraps a table row in the middle.
 */
import type { StatusDocument } from '../replication/status.js';
import { duration } from '../replication/status-jobs.js';
import { readable, serving, type Situation } from '../workflow/wizard-situation.js';
import { redact } from '../util/sensitive.js';

/** The narrowest terminal the wizard lays out for. */
export const MIN_WIDTH = 40;

/** The situation as a short table; `width` is the terminal's (free text is wrapped to it). */
export function formatSituation(doc: StatusDocument, situation: Situation, width = 80): string {
  const servers = Object.keys(doc.modes);
  const nameWidth = Math.min(16, Math.max(6, ...servers.map((s) => s.length)));
  const lines = [
    `${'SERVER'.padEnd(nameWidth)}  ${'MODE'.padEnd(8)} EPOCH  SSH  8140`,
    ...servers.map((s) => {
      const epoch = doc.epoch[s];
      const role = s === situation.active ? ' *' : '';
      return `${cut(s, nameWidth).padEnd(nameWidth)}  ${(doc.modes[s] ?? (readable(doc, s) ? 'unset' : '?')).padEnd(8)} ${String(epoch === 'invalid' ? '?' : (epoch ?? 0)).padStart(5)}  ${(readable(doc, s) ? 'ok' : 'no').padEnd(3)}  ${serving(doc, s) ? 'answers' : 'silent'}${role}`;
    }),
    `(* active now; SSH: pef can log in; 8140: Puppet Server)`,
    '',
    `${'KIND'.padEnd(14)}${`ON ${cut(situation.spare ?? 'THE SPARE', 20).toUpperCase()} AS OF`.padEnd(22)}  AGE`,
    ...situation.stake.map(
      (row) =>
        `${row.kind.padEnd(14)}${(row.last_success?.replace(/\.\d+Z$/, 'Z') ?? (row.kind === 'puppetdb' ? 'streamed' : 'unknown')).padEnd(22)}  ${row.age_s === null ? '-' : duration(row.age_s)}`,
    ),
  ];
  if (situation.spareWarnings.length > 0)
    lines.push(
      '',
      `${situation.spare ?? 'The spare'} first:`,
      ...situation.spareWarnings.map((w) => wrap(`! ${w}`, width)),
    );
  if (!doc.healthy)
    lines.push('', wrap(`status is NOT HEALTHY (${doc.problems.length} problem(s); \`pef status\` lists them)`, width));
  lines.push('', wrap(situation.reason, width));
  return redact(lines.join('\n'));
}

/** Word-wraps `text` to `width` columns (at least MIN_WIDTH), continuation lines indented by two. */
export function wrap(text: string, width: number): string {
  const limit = Math.max(MIN_WIDTH, width) - 1;
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line.length > 0 && line.length + 1 + word.length > limit) {
      out.push(line);
      line = `  ${word}`;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) out.push(line);
  return out.join('\n');
}

/** `text` cut to `width` columns, with an ellipsis when it was longer. */
export function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
