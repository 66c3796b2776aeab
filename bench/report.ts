/**
 * The bench's output: rows of medians and spreads with their ratio against a baseline measured
 * in the same run, printed as one aligned table and as Markdown for docs/benchmarks.md.
 */
import type { Summary } from './stats.js';

/** A goal and whether this run met it. */
export interface Goal {
  text: string;
  met: boolean;
}

/** One line of the final table; times in milliseconds. */
export interface Row {
  section: string;
  label: string;
  stats: Summary;
  /** E.g. "2.3× node -e 0" or "41× faster than ssh+CM". */
  ratio?: string;
  goal?: Goal;
  /** Shown under the table. */
  note?: string;
}

/** Formats milliseconds as ms below 10 s, else as seconds. */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 10_000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `a / b` as "12×" (or "1.4×" below 10). */
export function times(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  return ratio >= 10 ? `${ratio.toFixed(0)}×` : `${ratio.toFixed(2)}×`;
}

const HEADER = ['measure', 'median', 'min', 'p90', 'max', 'n', 'vs same-run baseline', 'goal'];

function cells(row: Row): string[] {
  const { stats } = row;
  const goal = row.goal === undefined ? '' : `${row.goal.met ? 'MET' : 'MISSED'}: ${row.goal.text}`;
  return [
    row.label,
    formatMs(stats.median),
    formatMs(stats.min),
    formatMs(stats.p90),
    formatMs(stats.max),
    String(stats.n),
    row.ratio ?? '',
    goal,
  ];
}

/** The rows as a plain aligned table, one block per section, each followed by its notes. */
export function formatTable(rows: readonly Row[]): string {
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i >= 1 && i <= 5 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out: string[] = [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const [section, sectionRows] of bySection(rows)) {
    out.push(`[${section}]`, ...sectionRows.map((r) => line(cells(r))));
    out.push(...notesOf(sectionRows).map((n) => `    ${n}`));
  }
  return out.join('\n');
}

/** The rows as Markdown tables, one per section, each followed by its notes. */
export function formatMarkdown(rows: readonly Row[]): string {
  const out: string[] = [];
  for (const [section, sectionRows] of bySection(rows)) {
    out.push(
      `#### ${section}`,
      '',
      `| ${HEADER.join(' | ')} |`,
      `|${HEADER.map((_, i) => (i >= 1 && i <= 5 ? ' ---: ' : ' --- ')).join('|')}|`,
    );
    out.push(
      ...sectionRows.map(
        (r) =>
          `| ${cells(r)
            .map((c) => c.replace(/\|/g, '\\|'))
            .join(' | ')} |`,
      ),
    );
    const notes = notesOf(sectionRows);
    out.push(...(notes.length ? ['', ...notes] : []), '');
  }
  return out.join('\n');
}

function bySection(rows: readonly Row[]): Map<string, Row[]> {
  const sections = new Map<string, Row[]>();
  for (const row of rows) sections.set(row.section, [...(sections.get(row.section) ?? []), row]);
  return sections;
}

function notesOf(rows: readonly Row[]): string[] {
  return rows.filter((r) => r.note !== undefined).map((r) => `- ${r.label}: ${r.note ?? ''}`);
}
