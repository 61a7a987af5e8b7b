// `dynaprune report DIR`: rebuilds a comparison's report from its run folders' small files (or its summary.json).
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFileError, DataNotFoundError } from '../../errors.js';
import { paperRowIds } from '../../experiments/paper-plan.js';
import { summaryFromRuns } from '../../report/from-runs.js';
import { writeReport } from '../../report/report.js';
import { parseSummary, type PaperSummary } from '../../report/summary.js';

async function summaryFromFile(path: string): Promise<PaperSummary> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DataNotFoundError(
      `No ${path} and no runs/ folder beside it; run 'dynaprune paper' first.`,
      { cause: error },
    );
  }
  try {
    return parseSummary(JSON.parse(text));
  } catch (error) {
    if (error instanceof SyntaxError)
      throw new CorruptFileError(path, 'is not valid JSON.', 'E_CORRUPT_FILE', { cause: error });
    throw error;
  }
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      "Rebuild the report (report.md, report.html, charts, summary.json) of a 'dynaprune paper' folder from its run folders' config.json, metrics.jsonl, sparsity.jsonl and result.json (or, without runs/, from its summary.json).",
    )
    .argument('[dir]', 'the comparison folder', 'runs/paper')
    .action(async (dir: string) => {
      const summary = existsSync(join(dir, 'runs'))
        ? await summaryFromRuns(dir, { rowOrder: paperRowIds })
        : await summaryFromFile(join(dir, 'summary.json'));
      const files = await writeReport(dir, summary);
      process.stdout.write(`wrote ${files.length} files to ${dir}\n`);
    });
}
