// Training really runs in a browser: headless Chromium trains a DynamicConv2D/DynamicDense CNN with DSR for 300
// steps on tfjs's wasm backend with dynaprune's training kernels; the loss falls, masks move, nnz stays exact.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  haveChromium,
  launchChromium,
  pageResult,
  serveFiles,
  warnIfNoChromium,
  type StaticFile,
} from './chromium.js';

warnIfNoChromium();

const ROOT = join(import.meta.dirname, '../..');

interface TrainPageResult {
  error?: string;
  backend: string;
  trainingKernels: { kernels: string[]; simd: { state: string } };
  steps: number;
  epochs: { trainLoss: number; valAcc: number }[];
  nnzBefore: number[];
  nnzAfter: number[];
  moved: number[];
  updates: { reported: number[]; counted: number[]; total: number }[];
  prunedTotal: number;
  zerosHold: boolean;
}

describe.skipIf(!haveChromium)('training in Chromium', () => {
  let server: { base: string; close: () => Promise<void> } | undefined;

  beforeAll(async () => {
    // The bundle of the page, resolved for the browser; the `dynaprune-source` condition reads src/ (see package.json).
    const bundle = await build({
      entryPoints: [join(import.meta.dirname, 'train-page.ts')],
      bundle: true,
      platform: 'browser',
      conditions: ['dynaprune-source'],
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const wasmDir = join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
    const files: Record<string, StaticFile> = {
      '/index.html': {
        type: 'text/html',
        body: '<!doctype html><meta charset="utf-8"><script type="module" src="app.js"></script>',
      },
      '/app.js': { type: 'text/javascript', body: bundle.outputFiles[0]!.contents },
    };
    for (const name of [
      'tfjs-backend-wasm.wasm',
      'tfjs-backend-wasm-simd.wasm',
      'tfjs-backend-wasm-threaded-simd.wasm',
    ])
      files[`/wasm/${name}`] = {
        type: 'application/wasm',
        body: await readFile(join(wasmDir, name)),
      };
    server = await serveFiles(files);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('trains with DSR on the wasm backend: loss falls, masks move, nnz exact', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server!.base}/index.html`);
      const r = await pageResult<TrainPageResult>(page, 300_000);
      expect(r.error).toBeUndefined();
      expect(r.backend).toBe('wasm');
      // dynaprune's kernels serve the filter gradient that tfjs-wasm lacks, with SIMD in Chromium.
      expect(r.trainingKernels.kernels).toContain('Conv2DBackpropFilter');
      expect(r.trainingKernels.simd.state).toBe('ready');
      expect(r.steps).toBe(300);
      // The loss falls and the model learns the task (chance is 25%).
      expect(r.epochs.at(-1)!.trainLoss).toBeLessThan(0.7 * r.epochs[0]!.trainLoss);
      expect(r.epochs.at(-1)!.valAcc).toBeGreaterThan(0.6);
      // DSR rewired: masks moved, weights were pruned and regrown, the total nnz never changed.
      expect(r.updates.length).toBeGreaterThan(1);
      expect(r.prunedTotal).toBeGreaterThan(0);
      expect(r.moved.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      const total = r.nnzBefore.reduce((a, b) => a + b, 0);
      for (const u of r.updates) {
        expect(u.counted).toEqual(u.reported);
        expect(u.total).toBe(total);
      }
      expect(r.nnzAfter.reduce((a, b) => a + b, 0)).toBe(total);
      expect(r.zerosHold).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
