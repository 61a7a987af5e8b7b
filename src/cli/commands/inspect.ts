// `dynaprune inspect FILE`: per-layer storage of a container and its size against three yardsticks.
import type { Command } from 'commander';
import { dirname, join } from 'node:path';
import { DataNotFoundError } from '../../errors.js';
import { describeModel, type ContainerReport } from '../../format/describe.js';
import { readContainerBytes } from '../../format/load.js';
import { savedModelBytes } from '../../train/model-files.js';

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** Prints a report as an aligned table on stdout. */
export function printReport(report: ContainerReport, tfjsBytes?: number): void {
  const rows = report.layers.map((l) => [
    l.name,
    l.op,
    l.shape.join('x'),
    String(l.nnz),
    `${(100 * l.sparsity).toFixed(1)}%`,
    l.storage,
    String(l.bytes),
    l.bitsPerNonzero.toFixed(2),
  ]);
  const header = ['layer', 'op', 'shape', 'nnz', 'sparsity', 'storage', 'bytes', 'bits/nnz'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out: string[] = [line(header), ...rows.map(line), ''];
  out.push(`values: ${report.valuePrecision}`);
  out.push(
    `weights: ${report.weightNnz} nonzeros of ${report.weightSize}, ${report.bitsPerNonzero.toFixed(2)} bits per nonzero`,
  );
  out.push(`container:                 ${kb(report.containerBytes).padStart(12)}`);
  if (tfjsBytes !== undefined) {
    out.push(
      `dense tfjs model:          ${kb(tfjsBytes).padStart(12)}  (${(tfjsBytes / report.containerBytes).toFixed(2)}x the container)`,
    );
  }
  out.push(
    `dense float32 weights:     ${kb(report.denseFp32Bytes).padStart(12)}  (${(report.denseFp32Bytes / report.containerBytes).toFixed(2)}x)`,
  );
  const gzipped = report.gzippedDenseBytes;
  out.push(
    gzipped === null
      ? `gzipped dense (tfmot):     ${'not computed'.padStart(12)}  (the dense model is over 128 MiB, or over 1032x the container)`
      : `gzipped dense (tfmot):     ${kb(gzipped).padStart(12)}  (${(gzipped / report.containerBytes).toFixed(2)}x)`,
  );
  // Not a bound: it prices each mask as i.i.d. at the layer's density and each value at its raw width.
  out.push(
    `i.i.d. mask + raw values:  ${kb(report.iidEntropyBytes).padStart(12)}  (container is ${(report.containerBytes / report.iidEntropyBytes).toFixed(3)}x this estimate)`,
  );
  process.stdout.write(out.join('\n') + '\n');
}

/**
 * The dense tfjs model's bytes: from `dir` when given (a missing model is an error), else from `model/` beside
 * the container when a run folder holds one (dynaprune export writes model.dpr beside it), else none.
 */
async function tfjsModelBytes(file: string, dir: string | undefined): Promise<number | undefined> {
  if (dir === undefined)
    return savedModelBytes(join(dirname(file), 'model')).catch(() => undefined);
  return savedModelBytes(dir).catch((error: unknown) => {
    throw new DataNotFoundError(
      `No tfjs model at ${dir}: --tfjs-model needs a folder holding model.json and weights.bin ` +
        `(${(error as Error).message}).`,
      { cause: error },
    );
  });
}

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description(
      'Per-layer shape, nnz, sparsity, bytes and bits per nonzero of a container, with size yardsticks.',
    )
    .argument('<file>', 'a .dpr container')
    .option(
      '--tfjs-model <dir>',
      'a tfjs model folder to compare with (default: model/ beside the file, if present)',
    )
    .action(async (file: string, flags: { tfjsModel?: string }) => {
      const { bytes, name } = await readContainerBytes(file);
      printReport(describeModel(bytes, name), await tfjsModelBytes(file, flags.tfjsModel));
    });
}
