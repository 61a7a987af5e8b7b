// Training on several threads (tfjs-wasm's threaded build, dynaprune's kernel workers) gives the same weights
// as one thread: every split writes disjoint outputs and keeps each sum's order, so the match is exact.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

interface Trained {
  readonly threads: number;
  readonly dense: readonly string[];
  readonly sparse: readonly string[];
}

/** Trains in a fresh process: the wasm backend's thread count is fixed once it starts. */
function trainIn(threads: number): Trained {
  const out = execFileSync(
    process.execPath,
    [
      '--conditions=dynaprune-source',
      '--import',
      TSX,
      join(ROOT, 'test/engine/threads-worker.ts'),
      String(threads),
    ],
    { encoding: 'utf8', cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as Trained;
}

describe('training on several threads', () => {
  it('gives bit-identical weights on 1 and 2 threads, on the dense and the sparse kernels', () => {
    const one = trainIn(1);
    const two = trainIn(2);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    for (const kernels of ['dense', 'sparse'] as const) {
      expect(two[kernels].length).toBe(one[kernels].length);
      one[kernels].forEach((weight, i) => {
        expect(two[kernels][i], `${kernels} kernels, weight ${i}`).toBe(weight);
      });
    }
  }, 600_000);
});
