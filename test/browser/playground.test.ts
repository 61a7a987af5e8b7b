// The playground end to end: `startPlayground` serves the built page; headless Chromium loads a model, classifies
// the test images as Node does, re-prunes from the slider (nnz and latency re-measured), classifies a dropped
// image and a dropped .dpr, and fine-tunes the model at the slider's point (nnz kept, the runtime re-measures).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlayground } from '../../scripts/build-playground.js';
import { crc32 } from '../../src/format/crc32.js';
import { decodeModel } from '../../src/format/decode.js';
import { encodeModel } from '../../src/format/encode.js';
import { nonzeroCount } from '../../src/graph/matrix.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { startPlayground, type Playground } from '../../src/playground/server.js';
import { createNetwork, measureAccuracy } from '../../src/runtime/index.js';
import { Random } from '../../src/util/random.js';
import { randomCsr, vec } from '../format/graphs.js';
import { haveChromium, launchChromium, warnIfNoChromium } from './chromium.js';

warnIfNoChromium();

const SHAPE = [16, 16, 3] as const;
const PER = SHAPE[0] * SHAPE[1] * SHAPE[2];
const LABELS = ['cat', 'dog', 'ship', 'frog', 'truck'];

/** A small sparse CNN over 16x16 RGB images, 5 classes. */
function model(seed: number): ModelGraph {
  const rng = new Random(seed);
  return {
    nodes: [
      { op: 'input', name: 'image', shape: [...SHAPE] },
      {
        op: 'conv2d',
        name: 'c1',
        input: 'image',
        inChannels: 3,
        outChannels: 16,
        kernelSize: [3, 3],
        strides: [2, 2],
        padding: 'same',
        weight: randomCsr(rng, 16, 27, 0.6),
        bias: vec(rng, 16),
        activation: 'relu',
      },
      { op: 'flatten', name: 'flat', input: 'c1' },
      {
        op: 'dense',
        name: 'fc1',
        input: 'flat',
        inFeatures: 8 * 8 * 16,
        outFeatures: 32,
        weight: randomCsr(rng, 32, 1024, 0.2),
        bias: vec(rng, 32),
        activation: 'relu',
      },
      {
        op: 'dense',
        name: 'fc2',
        input: 'fc1',
        inFeatures: 32,
        outFeatures: 5,
        weight: randomCsr(rng, 5, 32, 0.5),
        bias: vec(rng, 5),
        activation: 'softmax',
      },
    ],
    output: 'fc2',
    metadata: { modelName: 'playground-check' },
  };
}

/** A minimal RGB PNG (8-bit, no filter) of `pixels`, for the drop test. */
function png(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; y++)
    rows.set(pixels.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array()),
  ]);
}

interface PageState {
  state: string;
  model?: string;
  engine?: string;
  sparsity: number;
  nnz?: number;
  layers?: { name: string; nnz: number; storedNnz: number; size: number }[];
  accuracy?: number;
  latencyMs?: number;
  measurements: number;
  predictions?: number[];
  dropped?: { label: string; probability: number }[];
  feeding?: { input: string; labels: string; divisor: number };
  fineTune?: {
    state: string;
    sparsity: number;
    images: number;
    step: number;
    steps: number;
    losses?: number[];
    backend?: string;
    trainingKernels?: string[];
    layers?: { name: string; before: number; after: number }[];
    accuracyBefore?: number;
    accuracyAfter?: number;
    heldOutTfjs?: number;
    file?: string;
    error?: string;
  };
  error?: string;
}

const pageState = () => (window as unknown as { playground: PageState }).playground;

describe.skipIf(!haveChromium)('the playground in Chromium', () => {
  const COUNT = 120;
  const TRAIN = 96;
  const rng = new Random(21);
  const pixels = Uint8Array.from({ length: COUNT * PER }, () => rng.nextInt(256));
  const labels = Uint8Array.from({ length: COUNT }, () => rng.nextInt(5));
  const trainPixels = Uint8Array.from({ length: TRAIN * PER }, () => rng.nextInt(256));
  const trainLabels = Uint8Array.from({ length: TRAIN }, () => rng.nextInt(5));
  const scaled = Float32Array.from(pixels, (v) => v / 255);
  const graph = model(5);
  /** A file with the metadata block: its own scaling (not bytes / 255), class names and provenance. */
  const META_LABELS = ['ant', 'bee', 'cow', 'doe', 'eel'];
  const input = {
    shape: [...SHAPE],
    layout: 'hwc' as const,
    dtype: 'uint8' as const,
    divisor: 128,
    mean: [0.5, 0.25, 0],
    std: [0.5, 1, 2],
  };
  const described: ModelGraph = {
    ...model(7),
    metadata: {
      input,
      labels: META_LABELS,
      provenance: {
        method: 'set',
        sparsity: 0.5,
        dataset: 'synthetic',
        testAccuracy: 0.375,
        dynapruneVersion: '0.1.0',
      },
    },
  };
  let dir = '';
  let playground: Playground | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-playground-'));
    const built = await buildPlayground(join(dir, 'page'));
    const run = join(dir, 'run');
    await import('node:fs/promises').then((fs) => fs.mkdir(run));
    await writeFile(join(run, 'model.dpr'), encodeModel(graph));
    await writeFile(join(run, 'config.json'), JSON.stringify({ method: 'dsr', sparsity: 0.8 }));
    await writeFile(join(run, 'result.json'), JSON.stringify({ testAcc: 0.4321 }));
    await writeFile(join(run, 'curves.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(dir, 'meta.dpr'), encodeModel(described));
    playground = await startPlayground({
      models: [run, join(dir, 'meta.dpr')],
      assetsDir: built.outdir,
      testImages: async () => ({
        images: pixels,
        labels,
        count: COUNT,
        shape: SHAPE,
        labelNames: LABELS,
      }),
      trainImages: async () => ({
        images: trainPixels,
        labels: trainLabels,
        count: TRAIN,
        shape: SHAPE,
        labelNames: LABELS,
      }),
    });
  });

  afterAll(async () => {
    await playground?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads the model, classifies like Node, re-prunes from the slider, classifies dropped files', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const settled = async (measurements: number): Promise<PageState> => {
        await page.waitForFunction(
          (n) => {
            const p = (window as unknown as { playground?: PageState }).playground;
            return p?.state === 'failed' || (p?.state === 'ready' && p.measurements >= n);
          },
          measurements,
          { timeout: 60_000 },
        );
        return page.evaluate(() => (window as unknown as { playground: PageState }).playground);
      };
      await page.goto(`${playground!.url}?images=${COUNT}`);
      const first = await settled(1);
      expect(first.error).toBeUndefined();
      expect(first.engine).toBe('wasm-simd');
      expect(first.model).toBe('run');
      // The run's figures and plot are listed; the layer table has the three weight layers.
      expect(await page.textContent('#figures')).toContain('43.21%');
      expect(await page.locator('#plots img').count()).toBe(1);
      expect(await page.locator('#layers tbody tr').count()).toBe(3);

      // At the stored weights, the page predicts exactly what Node's runtime predicts.
      const node = await createNetwork(graph);
      const stored = measureAccuracy(node, scaled, labels, COUNT);
      expect(first.predictions).toEqual(Array.from(stored.predictions));
      expect(first.accuracy).toBeCloseTo(stored.accuracy, 10);
      const storedNnz = first.layers!.reduce((a, l) => a + l.storedNnz, 0);
      expect(first.nnz).toBe(storedNnz);
      expect(first.latencyMs).toBeGreaterThanOrEqual(0);

      // The slider re-prunes: exact nnz per layer, re-measured latency, Node's predictions at that point.
      await page.locator('#sparsity').fill('0.95');
      const pruned = await settled(2);
      expect(pruned.sparsity).toBe(0.95);
      for (const l of pruned.layers!)
        expect(l.nnz).toBe(Math.min(l.storedNnz, Math.round(0.05 * l.size)));
      expect(pruned.nnz).toBeLessThan(storedNnz);
      expect(pruned.measurements).toBe(2);
      expect(pruned.latencyMs).toBeGreaterThanOrEqual(0);
      expect(await page.textContent('#nnz')).toContain(pruned.nnz!.toLocaleString('en'));
      node.setSparsity(0.95);
      expect(pruned.predictions).toEqual(
        Array.from(measureAccuracy(node, scaled, labels, COUNT).predictions),
      );

      // Back to the stored weights: the same predictions as at the start.
      await page.locator('#sparsity').fill('0');
      const back = await settled(3);
      expect(back.nnz).toBe(storedNnz);
      expect(back.predictions).toEqual(first.predictions);

      // A dropped image (same size as the input) is classified like Node classifies its pixels.
      const image = pixels.subarray(7 * PER, 8 * PER);
      await page.setInputFiles('#file', {
        name: 'mine.png',
        mimeType: 'image/png',
        buffer: Buffer.from(png(image, 16, 16)),
      });
      await page.waitForFunction(
        () => (window as unknown as { playground: PageState }).playground.dropped !== undefined,
      );
      const dropped = (await page.evaluate(
        () => (window as unknown as { playground: PageState }).playground.dropped,
      ))!;
      node.setSparsity(0);
      const probabilities = node.predict(scaled.subarray(7 * PER, 8 * PER), 1);
      const best = probabilities.indexOf(Math.max(...probabilities));
      expect(dropped[0]!.label).toBe(LABELS[best]);
      expect(dropped[0]!.probability).toBeCloseTo(probabilities[best]!, 5);

      // A dropped .dpr joins the list and becomes the model shown.
      await page.setInputFiles('#file', {
        name: 'other.dpr',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from(encodeModel(model(6))),
      });
      await page.waitForFunction(
        () => (window as unknown as { playground: PageState }).playground.model === 'other.dpr',
      );
      const other = await settled(4);
      const otherNode = await createNetwork(model(6));
      expect(other.predictions).toEqual(
        Array.from(measureAccuracy(otherNode, scaled, labels, COUNT).predictions),
      );
      expect(await page.locator('#models li').count()).toBe(3);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('fine-tunes the model at the slider point in the page: progress to the end, nnz kept, runtime accuracy', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${playground!.url}?images=${COUNT}`);
      await page.waitForFunction(() => {
        const p = (window as unknown as { playground?: PageState }).playground;
        return p?.state === 'ready' && p.measurements >= 1;
      });
      // This old-style file has no metadata block: the page says it feeds bytes / 255 and the dataset's names.
      expect((await page.evaluate(pageState)).feeding).toEqual({
        input: 'default',
        labels: 'default',
        divisor: 255,
      });
      await page.locator('#sparsity').fill('0.9');
      await page.waitForFunction(() => {
        const p = (window as unknown as { playground: PageState }).playground;
        return p.state === 'ready' && p.measurements >= 2;
      });
      const pruned = await page.evaluate(pageState);
      await page.locator('#finetune-epochs').fill('2');
      await page.locator('#finetune-start').click();
      await page.waitForFunction(
        () =>
          ['done', 'failed'].includes(
            (window as unknown as { playground: PageState }).playground.fineTune?.state ?? '',
          ),
        undefined,
        { timeout: 180_000 },
      );
      const after = await page.evaluate(pageState);
      const tuned = after.fineTune!;
      expect(tuned.error).toBeUndefined();
      expect(tuned.state).toBe('done');
      // tfjs-wasm with dynaprune's training kernels, on the served training images: 2 epochs of 3 batches.
      expect(tuned.backend).toBe('wasm');
      expect(tuned.trainingKernels).toContain('Conv2DBackpropFilter');
      expect(tuned.images).toBe(TRAIN);
      expect(tuned.steps).toBe(6);
      expect(tuned.step).toBe(6);
      const progress = await page
        .locator('#finetune-progress')
        .evaluate((e) => [(e as HTMLProgressElement).value, (e as HTMLProgressElement).max]);
      expect(progress).toEqual([6, 6]);
      expect(tuned.losses).toHaveLength(2);
      for (const loss of tuned.losses!) expect(Number.isFinite(loss)).toBe(true);
      // It started from the slider's point and kept every layer's nnz exactly.
      expect(tuned.sparsity).toBe(0.9);
      expect(tuned.layers!.map((l) => [l.name, l.before])).toEqual(
        pruned.layers!.map((l) => [l.name, l.nnz]),
      );
      for (const l of tuned.layers!) expect(l.after).toBe(l.before);
      // The page now shows the fine-tuned model, run by the runtime; its accuracy is reported and tfjs agrees.
      expect(tuned.accuracyBefore).toBe(pruned.accuracy);
      expect(after.model).toBe('run fine-tuned (90.0%)');
      expect(after.layers!.map((l) => l.storedNnz)).toEqual(pruned.layers!.map((l) => l.nnz));
      expect(tuned.accuracyAfter).toBe(after.accuracy);
      expect(Math.abs(tuned.heldOutTfjs! - tuned.accuracyAfter!)).toBeLessThanOrEqual(2 / COUNT);
      expect(await page.textContent('#finetune-status')).toContain('nnz kept');
      expect(await page.textContent('#accuracy')).toContain(
        `${(100 * tuned.accuracyAfter!).toFixed(1)}%`,
      );

      // The download is the container the page runs: Node's runtime predicts what the page predicted.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#finetune-download').click(),
      ]);
      expect(download.suggestedFilename()).toBe(tuned.file);
      const bytes = new Uint8Array(await readFile((await download.path())!));
      const graph = decodeModel(bytes);
      expect(
        graph.nodes.flatMap((n) =>
          n.op === 'conv2d' || n.op === 'dense' ? [nonzeroCount(n.weight)] : [],
        ),
      ).toEqual(pruned.layers!.map((l) => l.nnz));
      expect(graph.metadata['fineTuned']).toMatchObject({
        from: { sparsity: 0.9, scope: 'layer' },
        images: TRAIN,
        epochs: 2,
        steps: 6,
      });
      expect(graph.metadata['labels']).toEqual(LABELS);
      expect(graph.metadata['provenance']).toMatchObject({ testAccuracy: null });
      const node = await createNetwork(graph);
      expect(after.predictions).toEqual(
        Array.from(measureAccuracy(node, scaled, labels, COUNT).predictions),
      );
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 240_000);

  it("feeds a model and names its classes from the file's metadata block", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${playground!.url}?images=${COUNT}`);
      await page.waitForFunction(() => {
        const p = (window as unknown as { playground?: PageState }).playground;
        return p?.state === 'ready' && p.measurements >= 1;
      });
      await page.locator('#models button[data-id="1"]').click();
      await page.waitForFunction(() => {
        const p = (window as unknown as { playground: PageState }).playground;
        return p.model === 'meta' && p.state === 'ready' && p.measurements >= 2;
      });
      const shown = await page.evaluate(pageState);
      expect(shown.feeding).toEqual({ input: 'metadata', labels: 'metadata', divisor: 128 });
      // The page scales as the input block says: (byte / 128 − mean[c]) / std[c], like Node with the same rule.
      const x = Float32Array.from(
        pixels,
        (v, i) => (v / input.divisor - input.mean[i % 3]!) / input.std[i % 3]!,
      );
      const node = await createNetwork(described);
      expect(shown.predictions).toEqual(
        Array.from(measureAccuracy(node, x, labels, COUNT).predictions),
      );
      // Class names and report figures come from the file, not from the served dataset.
      const captions = await page.locator('#gallery figcaption').allTextContents();
      expect(captions.length).toBeGreaterThan(0);
      for (const c of captions) expect(META_LABELS.some((l) => c.startsWith(l))).toBe(true);
      const figures = await page.textContent('#figures');
      expect(figures).toContain('set');
      expect(figures).toContain('37.50%');
      expect(await page.textContent('#feeding')).toContain("the file's input block");
      // Fine-tuning feeds bytes / 255, so it is refused for this model, with the reason.
      expect(await page.locator('#finetune-start').isDisabled()).toBe(true);
      expect(await page.textContent('#finetune-status')).toContain('bytes / 255');
    } finally {
      await browser.close();
    }
  }, 120_000);
});
