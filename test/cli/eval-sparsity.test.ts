// `dynaprune eval --sparsity`: the sweep's table, chart and points, and the sweep itself (exact nnz, stored
// accuracy unchanged, the network left at the stored weights).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { evalSparsity, parseSparsityList } from '../../src/cli/commands/eval-sparsity.js';
import type { Dataset } from '../../src/data/types.js';
import { sparsitySweep } from '../../src/experiments/sparsity-sweep.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { createNetwork, measureAccuracy } from '../../src/runtime/index.js';
import { Random } from '../../src/util/random.js';
import { sampleGraph } from '../format/graphs.js';

const COUNT = 40;
const rng = new Random(9);
const pixels = Uint8Array.from({ length: COUNT * 9 * 9 * 3 }, () => rng.nextInt(256));
const labels = Uint8Array.from({ length: COUNT }, () => rng.nextInt(5));
const scaled = Float32Array.from(pixels, (v) => v / 255);

describe('eval --sparsity', () => {
  afterEach(() => vi.restoreAllMocks());

  it('sweeps: stored point first, exact nnz, stored accuracy unchanged, network left as loaded', async () => {
    const graph = sampleGraph(2);
    const net = await createNetwork(graph);
    const before = measureAccuracy(net, scaled, labels, COUNT);
    let tick = 0;
    const points = sparsitySweep(net, scaled, labels, COUNT, [0.9, 0.97], {
      clock: () => (tick += 1),
    });
    expect(points.map((p) => p.target)).toEqual([0, 0.9, 0.97]);
    expect(points[0]!.accuracy).toBe(before.accuracy);
    for (const p of points.slice(1))
      for (const l of p.layers)
        expect(l.nnz).toBe(Math.min(l.storedNnz, Math.round((1 - p.target) * l.size)));
    // The injected clock advances 1 per call: switch = 1 tick, latency = (runsPerRound ticks ... ) / 10.
    expect(points[1]!.switchMs).toBe(1);
    expect(points[1]!.latencyMs).toBeCloseTo(0.1, 10);
    expect(points[2]!.nnz).toBeLessThan(points[1]!.nnz);
    expect(net.layerSparsity.every((l) => l.nnz === l.storedNnz)).toBe(true);
    expect(measureAccuracy(net, scaled, labels, COUNT).predictions).toEqual(before.predictions);
  });

  it('prints the table and writes the chart (SVG, PNG) and the points', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dynaprune-eval-'));
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      printed.push(String(s));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const data = {
        name: 'cifar10',
        test: { images: pixels, labels, count: COUNT },
      } as unknown as Dataset;
      const out = join(dir, 'sweep');
      await evalSparsity('model.dpr', sampleGraph(2), data, {
        sparsity: '0.95,0.9',
        pruneScope: 'global',
        out,
      });
      const text = printed.join('');
      expect(text).toMatch(/\| *stored \|/);
      expect(text).toMatch(/\| *0\.900 \| *90\.0\d% \|/);
      expect(text).toMatch(/\| *0\.950 \| *9[45]\.\d\d% \|/);
      expect(await readFile(`${out}.svg`, 'utf8')).toMatch(/^<svg/);
      expect((await readFile(`${out}.png`)).subarray(1, 4).toString()).toBe('PNG');
      const json = JSON.parse(await readFile(`${out}.json`, 'utf8')) as {
        points: { target: number; nnz: number }[];
      };
      expect(json.points.map((p) => p.target)).toEqual([0, 0.9, 0.95]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('parses the list and refuses bad sparsities', () => {
    expect(parseSparsityList('0.9, 0.95,0.99')).toEqual([0.9, 0.95, 0.99]);
    expect(() => parseSparsityList('0.9,1.2')).toThrow(InvalidArgumentError);
    expect(() => parseSparsityList('0.9,,')).toThrow(/--sparsity/);
  });
});
