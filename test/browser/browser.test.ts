// End to end in a real browser: Debian's Chromium, headless, loads the runtime bundle and a container over
// HTTP and classifies images exactly as Node does.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/format/encode.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { createNetwork } from '../../src/runtime/index.js';
import { Random } from '../../src/util/random.js';
import { randomCsr, vec } from '../format/graphs.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(
    `SKIPPED browser end-to-end test: ${CHROMIUM} is absent (apt-get install chromium).`,
  );

/** A small 90%-sparse CNN with a residual block, classifying 16x16 RGB images into 5 classes. */
function model(): ModelGraph {
  const rng = new Random(77);
  return {
    nodes: [
      { op: 'input', name: 'image', shape: [16, 16, 3] },
      {
        op: 'conv2d',
        name: 'c1',
        input: 'image',
        inChannels: 3,
        outChannels: 16,
        kernelSize: [3, 3],
        strides: [1, 1],
        padding: 'same',
        weight: randomCsr(rng, 16, 27, 0.5),
        bias: vec(rng, 16),
        activation: 'relu',
      },
      {
        op: 'maxPool',
        name: 'p1',
        input: 'c1',
        poolSize: [2, 2],
        strides: [2, 2],
        padding: 'valid',
      },
      // A residual block: r1 adds p1 and writes the BatchNorm + ReLU after the sum (conv epilogues).
      {
        op: 'conv2d',
        name: 'r1',
        input: 'p1',
        inChannels: 16,
        outChannels: 16,
        kernelSize: [3, 3],
        strides: [1, 1],
        padding: 'same',
        weight: randomCsr(rng, 16, 144, 0.1),
        bias: vec(rng, 16),
        activation: 'linear',
      },
      { op: 'add', name: 'sum', inputs: ['p1', 'r1'] },
      {
        op: 'batchNorm',
        name: 'bn',
        input: 'sum',
        gamma: vec(rng, 16),
        beta: vec(rng, 16),
        movingMean: vec(rng, 16),
        movingVariance: vec(rng, 16).map((v) => Math.abs(v) + 0.5),
        epsilon: 1e-3,
      },
      { op: 'relu', name: 'pre', input: 'bn' },
      {
        op: 'conv2d',
        name: 'c2',
        input: 'pre',
        inChannels: 16,
        outChannels: 32,
        kernelSize: [3, 3],
        strides: [1, 1],
        padding: 'valid',
        weight: randomCsr(rng, 32, 144, 0.1),
        bias: vec(rng, 32),
        activation: 'relu',
      },
      { op: 'flatten', name: 'flat', input: 'c2' },
      {
        op: 'dense',
        name: 'fc',
        input: 'flat',
        inFeatures: 6 * 6 * 32,
        outFeatures: 5,
        weight: randomCsr(rng, 5, 6 * 6 * 32, 0.1),
        bias: vec(rng, 5),
        activation: 'softmax',
      },
    ],
    output: 'fc',
    metadata: { modelName: 'browser-check' },
  };
}

describe('the runtime in Chromium', () => {
  let server: Server | undefined;
  let base = '';
  const graph = model();
  const images = Float32Array.from(
    { length: 8 * 16 * 16 * 3 },
    (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5,
  );

  beforeAll(async () => {
    if (!haveChromium) return;
    const bundle = await build({
      entryPoints: [join(import.meta.dirname, '../../src/runtime/index.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      // Resolves package.json's #platform/* imports to the sources (their browser variants).
      conditions: ['dynaprune-source'],
      write: false,
      logLevel: 'silent',
    });
    const files: Record<string, { type: string; body: Uint8Array | string }> = {
      '/index.html': {
        type: 'text/html',
        body: await readFile(join(import.meta.dirname, 'page.html'), 'utf8'),
      },
      '/runtime.js': { type: 'text/javascript', body: bundle.outputFiles[0]!.contents },
      '/model.dpr': { type: 'application/octet-stream', body: encodeModel(graph) },
      '/images.bin': { type: 'application/octet-stream', body: new Uint8Array(images.buffer) },
    };
    server = createServer((req, res) => {
      const file = files[req.url ?? ''];
      if (!file) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': file.type });
      res.end(file.body);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  });

  it.skipIf(!haveChromium)(
    'classifies the images like Node, with the WebAssembly SIMD kernels',
    async () => {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
        ],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`${base}/index.html`);
        await page.waitForFunction(
          () => (window as unknown as { result?: unknown }).result !== undefined,
          undefined,
          { timeout: 30_000 },
        );
        const result = (await page.evaluate(
          () => (window as unknown as { result: unknown }).result,
        )) as {
          error?: string;
          engine: string;
          kernels: string;
          predictions: number[];
          probabilities: number[];
        };
        expect(result.error).toBeUndefined();
        expect(result.engine).toBe('wasm-simd');
        expect(result.kernels).toBe('ready');
        const node = await createNetwork(graph);
        const expected = node.predict(images, 8);
        const expectedClasses = Array.from({ length: 8 }, (_, b) => {
          const row = Array.from(expected.subarray(b * 5, (b + 1) * 5));
          return row.indexOf(Math.max(...row));
        });
        expect(result.predictions).toEqual(expectedClasses);
        result.probabilities.forEach((p, i) =>
          expect(Math.abs(p - expected[i]!)).toBeLessThan(1e-6),
        );
      } finally {
        await browser.close();
      }
    },
  );
});
