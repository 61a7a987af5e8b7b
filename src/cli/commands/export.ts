// `dynaprune export RUN_DIR`: writes the run's final model as a CSR container, or as an ONNX model (--format onnx).
import type { Command } from 'commander';
import { loadLayersModel } from '@tensorflow/tfjs';
import { join } from 'node:path';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { exportSparse, toLayersModel } from '../../convert/export.js';
import { readRunFacts } from '../../experiments/run-facts.js';
import { exportOnnx, ONNX_OPSET_VERSION } from '../../convert/onnx-export.js';
import { decodeModel } from '../../format/decode.js';
import { initBackend } from '../../engine/backend.js';
import { InvalidArgumentError } from '../../errors.js';
import { describeModel } from '../../format/describe.js';
import { valuePrecisions, type ValuePrecision } from '../../format/layout.js';
import { registerDynamicLayers } from '../../layers/register.js';
import { folderHandler, savedModelBytes } from '../../train/model-files.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { oneOf } from '../parse.js';
import { printReport } from './inspect.js';

const exportFormats = ['csr', 'onnx'] as const;
type ExportFormat = (typeof exportFormats)[number];

interface ExportFlags {
  values: string;
  format: string;
  sparseInitializers?: boolean;
  out?: string;
  foldBatchNorm: boolean;
}

/** Refuses an output path that is a folder, before any work. */
async function refuseFolder(out: string): Promise<void> {
  if ((await stat(out).catch(() => undefined))?.isDirectory()) {
    throw new InvalidArgumentError(
      `--out ${out} is a folder; give a file path such as ${join(out, 'model.dpr')}.`,
    );
  }
}

/** Writes atomically; a path that cannot be written is a typed one-line error. */
async function writeOutput(out: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(out, bytes);
  } catch (error) {
    throw new InvalidArgumentError(
      `Cannot write ${out} (${(error as Error).message}). Choose a writable file path with --out.`,
      { cause: error },
    );
  }
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      "Write a run's final model as a CSR container (.dpr), or as an ONNX model of the same folded graph.",
    )
    .argument(
      '<run-dir>',
      'a run folder written by dynaprune train (its model/ subfolder is exported)',
    )
    .option(
      '--values <precision>',
      `value precision (${valuePrecisions.join(', ')}); fp32 is lossless`,
      'fp32',
    )
    .option(
      '--format <format>',
      `${exportFormats.join(' or ')}: onnx writes a standard ONNX model (opset ${ONNX_OPSET_VERSION}, NCHW input) for onnxruntime`,
      'csr',
    )
    .option(
      '--sparse-initializers',
      'with --format onnx: store sparse weights as ONNX sparse initializers (smaller file)',
    )
    .option('--out <file>', 'output file (default <run-dir>/model[-fp16|-int8].dpr or .onnx)')
    .option(
      '--no-fold-batch-norm',
      'keep BatchNorm layers instead of folding them into the conv before',
    )
    .action(async (runDir: string, flags: ExportFlags) => {
      const values = oneOf<ValuePrecision>('value precision', flags.values, valuePrecisions);
      const format = oneOf<ExportFormat>('export format', flags.format, exportFormats);
      if (flags.out !== undefined) await refuseFolder(flags.out);
      await initBackend('cpu');
      registerDynamicLayers();
      const model = await loadLayersModel(folderHandler(join(runDir, 'model')));
      const bytes = exportSparse(model, {
        values,
        foldBatchNorm: flags.foldBatchNorm,
        run: await readRunFacts(runDir),
      });
      const stem = values === 'fp32' ? 'model' : `model-${values}`;
      if (format === 'onnx') {
        // Through the container, so the ONNX model holds exactly the weights the .dpr holds (fp16/int8 rounding included).
        const onnx = exportOnnx(decodeModel(bytes), {
          sparseInitializers: flags.sparseInitializers === true,
          foldBatchNorm: flags.foldBatchNorm,
        });
        const out = flags.out ?? join(runDir, `${stem}.onnx`);
        await writeOutput(out, onnx);
        process.stdout.write(
          `wrote ${out} (${onnx.length} bytes; ONNX opset ${ONNX_OPSET_VERSION}, input NCHW [batch, channels, height, width])\n`,
        );
        return;
      }
      const out = flags.out ?? join(runDir, `${stem}.dpr`);
      await writeOutput(out, bytes);
      process.stdout.write(`wrote ${out} (${bytes.length} bytes)\n`);
      // The yardstick is the plain dense tfjs model (no masks), as a user would ship it without dynaprune.
      const scratch = await mkdtemp(join(tmpdir(), 'dynaprune-dense-'));
      await toLayersModel(bytes).save(folderHandler(scratch));
      const denseBytes = await savedModelBytes(scratch);
      await rm(scratch, { recursive: true, force: true });
      printReport(describeModel(bytes, out), denseBytes);
    });
}
