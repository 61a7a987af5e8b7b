// The metadata block (input, labels, provenance): validated both ways, round-tripped, filled from a run, used by classify.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunFacts } from '../../src/experiments/run-facts.js';
import { modelCard, weightSparsity } from '../../src/convert/model-card.js';
import { CIFAR10_LABELS } from '../../src/data/cifar10-format.js';
import { InvalidArgumentError, ShapeMismatchError } from '../../src/errors.js';
import { decodeModel, encodeModel, InvalidModelError } from '../../src/format/index.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { createNetwork } from '../../src/runtime/index.js';
import { DYNAPRUNE_VERSION } from '../../src/version.js';
import packageJson from '../../package.json' with { type: 'json' };
import { buildContainer, splitContainer } from './craft.js';
import { randomCsr, vec } from './graphs.js';
import { Random } from '../../src/util/random.js';

/** input [2, 2, 3] → dense 3 classes (softmax or linear), with the given metadata. */
function tiny(
  metadata: Record<string, unknown>,
  activation: 'softmax' | 'linear' = 'softmax',
): ModelGraph {
  const rng = new Random(5);
  return {
    nodes: [
      { op: 'input', name: 'image', shape: [2, 2, 3] },
      { op: 'flatten', name: 'flat', input: 'image' },
      {
        op: 'dense',
        name: 'fc',
        input: 'flat',
        inFeatures: 12,
        outFeatures: 3,
        weight: randomCsr(rng, 3, 12, 0.6),
        bias: vec(rng, 3),
        activation,
      },
    ],
    output: 'fc',
    metadata,
  };
}

const input = {
  shape: [2, 2, 3],
  layout: 'hwc',
  dtype: 'uint8',
  divisor: 255,
  mean: null,
  std: null,
};
const provenance = {
  method: 'dsr',
  sparsity: 0.4,
  dataset: null,
  testAccuracy: 0.5,
  dynapruneVersion: DYNAPRUNE_VERSION,
};
const card = { modelName: 'tiny', input, labels: ['cat', 'dog', 'cow'], provenance };

describe('container metadata', () => {
  it('round-trips input, labels and provenance, and keeps free members', () => {
    const back = decodeModel(encodeModel(tiny({ ...card, extra: { any: [1, 'x'] } })));
    expect(back.metadata).toEqual({ ...card, extra: { any: [1, 'x'] } });
  });

  it('refuses a malformed block when writing and when reading', () => {
    const bad: Record<string, unknown>[] = [
      { input: { ...input, shape: [2, 2, 1] } },
      { input: { ...input, layout: 'chw' } },
      { input: { ...input, divisor: 0 } },
      { input: { ...input, mean: [0.5, 0.5] } },
      { input: { ...input, std: [1, 0, 1] } },
      { labels: ['cat', 'dog'] },
      { labels: ['cat', 'dog', 3] },
      { provenance: { ...provenance, sparsity: 1.5 } },
      { provenance: { ...provenance, dynapruneVersion: undefined } },
      { provenance: 'dsr' },
    ];
    const good = encodeModel(tiny(card));
    for (const metadata of bad) {
      expect(() => encodeModel(tiny(metadata)), JSON.stringify(metadata)).toThrow(
        InvalidArgumentError,
      );
      // The same block, written past the encoder's check, is refused by the reader.
      const { topology, sections } = splitContainer(good);
      topology['metadata'] = metadata;
      expect(() => decodeModel(buildContainer(topology, sections))).toThrow(InvalidModelError);
    }
  });

  it('classify scales bytes as the block says and labels the probabilities', async () => {
    const graph = tiny(card);
    const net = await createNetwork(decodeModel(encodeModel(graph)));
    expect(net.metadata.labels).toEqual(['cat', 'dog', 'cow']);
    const bytes = Uint8Array.from({ length: 12 }, (_, i) => (i * 37) % 256);
    const result = net.classify(bytes);
    const probs = net.predict(
      Float32Array.from(bytes, (b) => b / 255),
      1,
    );
    expect(result.map((r) => r.probability)).toEqual([...probs].sort((a, b) => b - a));
    expect(result[0]!.label).toBe(['cat', 'dog', 'cow'][result[0]!.index]);
    expect(result.reduce((a, r) => a + r.probability, 0)).toBeCloseTo(1, 6);
    // RGBA from a canvas: alpha is dropped.
    const rgba = new Uint8Array(16);
    for (let p = 0; p < 4; p++) rgba.set([...bytes.subarray(3 * p, 3 * p + 3), 255], 4 * p);
    expect(net.classify(rgba)).toEqual(result);
    expect(() => net.classify(new Uint8Array(5))).toThrow(ShapeMismatchError);
    expect(() => net.classify(Float32Array.from(bytes, (b) => b / 255))).toThrow(/0 to 255/);
  });

  it('classify applies a softmax when the output is not one, and uses mean and std', async () => {
    const meanStd = { ...input, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.5] };
    const net = await createNetwork(tiny({ input: meanStd }, 'linear'));
    const bytes = Uint8Array.from({ length: 12 }, (_, i) => 20 * i);
    const x = Float32Array.from(
      bytes,
      (b, i) => (b / 255 - meanStd.mean[i % 3]!) / meanStd.std[i % 3]!,
    );
    const logits = net.predict(x, 1);
    const max = Math.max(...logits);
    const sum = logits.reduce((a, v) => a + Math.exp(v - max), 0);
    const result = net.classify(bytes);
    for (const r of result)
      expect(r.probability).toBeCloseTo(Math.exp(logits[r.index]! - max) / sum, 6);
    expect(result.map((r) => r.label)).toEqual(result.map((r) => String(r.index)));
  });

  it('an old file without the block loads; classify then says what is missing', async () => {
    const net = await createNetwork(decodeModel(encodeModel(tiny({ modelName: 'old' }))));
    expect(net.metadata).toEqual({ modelName: 'old' });
    expect(() => net.classify(new Uint8Array(12))).toThrow(/no metadata.input/);
  });

  it('export fills the block from the run: dataset scaling and labels, measured sparsity, version', async () => {
    const rng = new Random(9);
    const graph: ModelGraph = {
      nodes: [
        { op: 'input', name: 'image', shape: [32, 32, 3] },
        { op: 'globalAvgPool', name: 'gap', input: 'image' },
        {
          op: 'dense',
          name: 'fc',
          input: 'gap',
          inFeatures: 3,
          outFeatures: 10,
          weight: randomCsr(rng, 10, 3, 0.5),
          bias: null,
          activation: 'softmax',
        },
      ],
      output: 'fc',
      metadata: {},
    };
    const filled = modelCard(graph, {
      dataset: 'cifar10',
      labels: CIFAR10_LABELS,
      method: 'dsr',
      testAccuracy: 0.61,
    });
    expect(filled.input).toEqual({
      shape: [32, 32, 3],
      layout: 'hwc',
      dtype: 'uint8',
      divisor: 255,
      mean: null,
      std: null,
    });
    expect(filled.labels).toEqual([...CIFAR10_LABELS]);
    expect(filled.provenance).toEqual({
      method: 'dsr',
      sparsity: weightSparsity(graph),
      dataset: 'cifar10',
      testAccuracy: 0.61,
      dynapruneVersion: packageJson.version,
    });
    expect(weightSparsity(graph)).toBeGreaterThan(0);
    expect(decodeModel(encodeModel({ ...graph, metadata: filled })).metadata).toEqual(filled);
    expect(() =>
      encodeModel({ ...graph, metadata: modelCard(graph, { labels: ['a', 'b'] }) }),
    ).toThrow(/10 strings/);
    expect(modelCard(graph, {})).toEqual({
      provenance: { ...filled.provenance!, method: null, dataset: null, testAccuracy: null },
    });

    const dir = await mkdtemp(join(tmpdir(), 'dynaprune-run-'));
    try {
      expect(await readRunFacts(dir)).toEqual({});
      await writeFile(
        join(dir, 'config.json'),
        JSON.stringify({ dataset: 'cifar10', method: 'dsr', model: 'paper-cnn' }),
      );
      await writeFile(join(dir, 'result.json'), JSON.stringify({ testAcc: 0.7 }));
      expect(await readRunFacts(dir)).toEqual({
        dataset: 'cifar10',
        labels: CIFAR10_LABELS,
        method: 'dsr',
        testAccuracy: 0.7,
      });
      await writeFile(join(dir, 'config.json'), JSON.stringify({ dataset: 'cifar10' }));
      expect(await readRunFacts(dir)).toEqual({
        dataset: 'cifar10',
        labels: CIFAR10_LABELS,
        method: 'dense',
        testAccuracy: 0.7,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
