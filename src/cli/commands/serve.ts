// `dynaprune serve [RUN or .dpr ...]`: the playground page on a local HTTP server, with the local test images.
import type { Command } from 'commander';
import { datasetNames, loadDataset } from '../../data/registry.js';
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
    .action(
      async (
        models: string[],
        flags: { port: string; host: string; dataDir?: string; testImages: string },
      ) => {
        const testLimit = positiveInt('--test-images', flags.testImages);
        const playground = await startPlayground({
          models,
          host: flags.host,
          port: nonNegativeInt('--port', flags.port),
          testImages: async (dataset) => {
            const data = await loadDataset(oneOf('dataset', dataset, datasetNames()), {
              ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
              trainLimit: 1,
              testLimit,
            });
            return { ...data.test, shape: data.inputShape, labelNames: data.labelNames };
          },
        });
        process.stdout.write(
          `dynaprune playground: ${playground.url} (${models.length} model${models.length === 1 ? '' : 's'}; Ctrl-C stops it)\n`,
        );
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        await playground.close();
      },
    );
}
