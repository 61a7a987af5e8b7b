// Where benchmarks write their JSON: bench/results/NAME.json (git-ignored), with the machine recorded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { describeMachine } from '../../src/experiments/machine.js';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** Writes `result` as bench/results/`name`.json and returns the path. */
export function writeBenchResult(name: string, result: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.json`);
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
  return path;
}

/** The load averages (1, 5, 15 min) before and after a run, as every table header states them. */
export function loadRange(before: readonly number[], after: readonly number[]): string {
  const f = (l: readonly number[]) => l.map((v) => v.toFixed(1)).join(' ');
  return `load ${f(before)} -> ${f(after)}`;
}

/** A column of {@link markdownTable}: its title, or its title and alignment. */
export type Column = string | { readonly title: string; readonly align: 'left' | 'right' };

/**
 * A Markdown table as lines of text: the titles, the alignment row, then one line per row of cells. The
 * first column aligns left and the others right (they hold figures), unless a column says otherwise.
 */
export function markdownTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
): string {
  const title = (c: Column) => (typeof c === 'string' ? c : c.title);
  const align = (c: Column, i: number) =>
    typeof c === 'string' ? (i === 0 ? 'left' : 'right') : c.align;
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(columns.map(title)),
    `|${columns.map((c, i) => (align(c, i) === 'left' ? '---' : '---:')).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}
