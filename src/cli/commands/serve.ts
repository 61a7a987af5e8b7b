// `dynaprune serve [RUN or .dpr ...]`: the playground page on a local HTTP server, with the local test images.
import type { Command } from 'commander';
import { datasetNames, loadDataset } from '../../data/registry.js';
import type { Dataset } from '../../data/types.js';
import { startPlayground } from '../../playground/server.js';
import { nonNegativeInt, oneOf, positiveInt } from '../parse.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve the playground: list the models, run them in the browser on test images, re-prune them live.',
    )
    .argument('<models...>', 'run folders (with model.dpr) or .dpr files')
    .option('--port <n>', 'port to listen on', '8765')
    .option('--host <address>', 'address to listen on (default: this machine only)', '127.0.0.1')
    .option('--data-dir <path>', 'local copy of the dataset (as for train and eval)')
    .option('--test-images <n>', 'test images sent to the page', '500')
    .option(
      '--train-images <n>',
      'training images sent to the page for "fine-tune here" (the first n of the training split)',
      '500',
    )
    .action(
      async (
        models: string[],
        flags: {
          port: string;
          host: string;
          dataDir?: string;
          testImages: string;
          trainImages: string;
        },
      ) => {
        const testLimit = positiveInt('--test-images', flags.testImages);
        const trainLimit = positiveInt('--train-images', flags.trainImages);
        // One read of the local copy per dataset serves both splits.
        const loaded = new Map<string, Promise<Dataset>>();
        const load = (dataset: string): Promise<Dataset> => {
          if (!loaded.has(dataset))
            loaded.set(
              dataset,
              loadDataset(oneOf('dataset', dataset, datasetNames()), {
                ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
                trainLimit,
                testLimit,
              }),
            );
          return loaded.get(dataset)!;
        };
        const split = (which: 'train' | 'test') => async (dataset: string) => {
          const data = await load(dataset);
          return { ...data[which], shape: data.inputShape, labelNames: data.labelNames };
        };
        const playground = await startPlayground({
          models,
          host: flags.host,
          port: nonNegativeInt('--port', flags.port),
          testImages: split('test'),
          trainImages: split('train'),
        });
        process.stdout.write(
          `dynaprune playground: ${playground.url} (${models.length} model${models.length === 1 ? '' : 's'}; Ctrl-C stops it)\n`,
        );
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        await playground.close();
      },
    );
}
