// `dynaprune report DIR`: rewrites a comparison's report (markdown, HTML, charts) from its summary.json.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFileError, DataNotFoundError } from '../../errors.js';
import { writeReport } from '../../report/report.js';
import { parseSummary } from '../../report/summary.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      "Rewrite the report (report.md, report.html, charts) of a 'dynaprune paper' folder from its summary.json.",
    )
    .argument('[dir]', 'the folder holding summary.json', 'runs/paper')
    .action(async (dir: string) => {
      const path = join(dir, 'summary.json');
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        throw new DataNotFoundError(`No ${path}; run 'dynaprune paper --out ${dir}' first.`, {
          cause: error,
        });
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new CorruptFileError(path, 'is not valid JSON.', 'E_CORRUPT_FILE', { cause: error });
      }
      const files = await writeReport(dir, parseSummary(json));
      process.stdout.write(`wrote ${files.length} files to ${dir}\n`);
    });
}
