// Container size and decode speed: how fast a stored model becomes weights in memory, per value precision
// and index coding, next to the yardstick of gunzipping the dense float32 weights (tfmot's stored form).
//
// Models: paper-cnn-wide (width 3) and WRN-16-2 with a random 90% mask (bench/lib/sparse-graph.ts), plus
// any container given with --container FILE (for example a trained run's model.dpr). Decoding means
// decodeModel: header, topology JSON, every section's CRC-32, Golomb or narrow indices, inflating and
// unshuffling the values, and validating the graph. Throughput is container megabytes per second
// (1 MB = 1e6 bytes) and, for comparison across codings, decoded weight megabytes per second.
//
// Run: npx tsx bench/format-decode.ts [--quick] [--container FILE ...]. Writes
// bench/results/format-decode.json; the last line is JSON with the slowest fp32 decode rate.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend.js';
import { decodeModel } from '../src/format/decode.js';
import { encodeModel } from '../src/format/encode.js';
import type { ModelGraph, WeightMatrix } from '../src/graph/types.js';
import { indexCodings, valuePrecisions } from '../src/format/layout.js';
import { sparseGraph, timeMedian } from './lib/sparse-graph.js';
import { describeMachine, markdownTable, writeBenchResult } from './lib/results.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    container: { type: 'string', multiple: true, default: [] },
  },
});
const runs = flags.quick ? 5 : 30;

/** Every weight matrix of the graph, expanded to dense float32 (zeros included), concatenated. */
function denseWeights(graph: ModelGraph): Float32Array {
  const parts: Float32Array[] = [];
  const push = (m: WeightMatrix): void => {
    if (m.kind === 'dense') {
      parts.push(m.values);
      return;
    }
    const full = new Float32Array(m.rows * m.cols);
    for (let r = 0; r < m.rows; r++)
      for (let k = m.rowPtr[r]!; k < m.rowPtr[r + 1]!; k++)
        full[r * m.cols + m.colIdx[k]!] = m.values[k]!;
    parts.push(full);
  };
  for (const node of graph.nodes) {
    if (node.op === 'conv2d' || node.op === 'dense') {
      push(node.weight);
      if (node.bias) parts.push(node.bias);
    } else if (node.op === 'batchNorm') {
      parts.push(node.gamma, node.beta, node.movingMean, node.movingVariance);
    }
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface Row {
  readonly model: string;
  readonly encoding: string;
  readonly bytes: number;
  readonly ms: number;
  readonly containerMBps: number;
  readonly weightsMBps: number;
}

function measure(model: string, encoding: string, bytes: Uint8Array, weightBytes: number): Row {
  const ms = timeMedian(() => void decodeModel(bytes), runs, 2);
  return {
    model,
    encoding,
    bytes: bytes.length,
    ms,
    containerMBps: bytes.length / 1e3 / ms,
    weightsMBps: weightBytes / 1e3 / ms,
  };
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const rows: Row[] = [];
  const sources: { name: string; graph: ModelGraph; file?: Uint8Array }[] = [];
  for (const name of ['paper-cnn-wide', 'wrn-16-2'])
    sources.push({ name: `${name} (random 90%)`, graph: await sparseGraph(name, 0.9) });
  for (const path of flags.container) {
    const file = new Uint8Array(readFileSync(path));
    sources.push({ name: path, graph: decodeModel(file), file });
  }
  for (const { name, graph, file } of sources) {
    const dense = denseWeights(graph);
    const denseBytes = new Uint8Array(dense.buffer);
    if (file) rows.push(measure(name, 'as stored', file, denseBytes.length));
    for (const values of valuePrecisions)
      for (const indices of indexCodings)
        rows.push(
          measure(
            name,
            `${values}, ${indices} indices`,
            encodeModel(graph, { values, indices }),
            denseBytes.length,
          ),
        );
    const gz = gzipSync(denseBytes, { level: 9 });
    const ms = timeMedian(() => void gunzipSync(gz), runs, 2);
    rows.push({
      model: name,
      encoding: 'yardstick: gunzip dense fp32 weights',
      bytes: gz.length,
      ms,
      containerMBps: gz.length / 1e3 / ms,
      weightsMBps: denseBytes.length / 1e3 / ms,
    });
    process.stderr.write(`measured ${name}\n`);
  }
  const fp32 = rows.filter((r) => r.encoding === 'fp32, golomb indices');
  const result = {
    benchmark: 'format-decode',
    date: new Date().toISOString(),
    machine: describeMachine(),
    runs,
    rows,
    minFp32DecodeMBps: Math.min(...fp32.map((r) => r.containerMBps)),
  };
  writeBenchResult('format-decode', result);
  const lines = [
    `Container decode, median of ${runs} runs, ${result.machine.cpuModel} (${result.machine.cpus} cores, no GPU)`,
    '',
    markdownTable(
      [
        'model',
        { title: 'encoding', align: 'left' },
        'bytes',
        'decode ms',
        'container MB/s',
        'weights MB/s',
      ],
      rows.map((r) => [
        r.model,
        r.encoding,
        r.bytes.toLocaleString('en-US'),
        r.ms.toFixed(2),
        r.containerMBps.toFixed(1),
        r.weightsMBps.toFixed(1),
      ]),
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(JSON.stringify({ minFp32DecodeMBps: result.minFp32DecodeMBps }) + '\n');
}

tf.env().set('PROD', true);
await main();
