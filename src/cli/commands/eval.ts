// `dynaprune eval FILE`: test accuracy and loss of a container on a dataset.
import type { Command } from 'commander';
import type { BackendRequest } from '../../engine/backend.js';
import { backendRequests, initBackend } from '../../engine/backend.js';
import { toLayersModel } from '../../convert/export.js';
import { datasetNames, loadDataset } from '../../data/registry.js';
import { loadSparse } from '../../format/load.js';
import { evaluate } from '../../train/trainer.js';
import { oneOf, positiveInt } from '../parse.js';

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description("Report a container's accuracy and loss on a dataset's test split.")
    .argument('<file>', 'a .dpr container')
    .option('--dataset <name>', `dataset (${datasetNames().join(', ')})`, 'cifar10')
    .option('--data-dir <path>', 'local copy of the dataset')
    .option('--test-limit <n>', 'evaluate only the first N test images')
    .option('--backend <name>', `tfjs backend (${backendRequests.join(', ')})`, 'auto')
    .action(
      async (
        file: string,
        flags: { dataset: string; dataDir?: string; testLimit?: string; backend: string },
      ) => {
        const dataset = oneOf('dataset', flags.dataset, datasetNames());
        const backend = await initBackend(
          oneOf<BackendRequest>('backend', flags.backend, backendRequests),
        );
        process.stderr.write(backend.description + '\n');
        const graph = await loadSparse(file);
        const data = await loadDataset(dataset, {
          ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
          trainLimit: 1,
          ...(flags.testLimit !== undefined
            ? { testLimit: positiveInt('--test-limit', flags.testLimit) }
            : {}),
        });
        const model = toLayersModel(graph);
        const result = evaluate(model, data.test, data.inputShape);
        process.stdout.write(
          `${file}: test accuracy ${(100 * result.acc).toFixed(2)}%, test loss ${result.loss.toFixed(4)} on ${data.test.count} images\n`,
        );
      },
    );
}
