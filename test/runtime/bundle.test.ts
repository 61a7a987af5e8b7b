// The runtime entry bundles for browsers without tfjs and within its size budget (60 KB min+gzip).
import { build } from 'esbuild';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

describe('dynaprune/runtime bundle', () => {
  it('has no tfjs inside and stays under 60 KB minified and gzipped', async () => {
    const result = await build({
      entryPoints: [join(import.meta.dirname, '../../src/runtime/index.ts')],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      external: ['node:fs/promises'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => p.includes('@tensorflow'))).toEqual([]);
    expect(inputs.some((p) => p.includes('runtime-kernels-wasm'))).toBe(true);
    expect(gzipSync(result.outputFiles[0]!.contents).length).toBeLessThanOrEqual(60 * 1024);
  });
});
