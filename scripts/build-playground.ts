// Builds the playground page into dist/playground (npm run build): the page script (runtime included) bundled and
// minified for browsers, the fine-tuning code (tfjs, dynaprune's training) as a second bundle the page loads only
// when asked, tfjs-backend-wasm's binaries under wasm/, and index.html and style.css. Prints both sizes.
import { build } from 'esbuild';
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'src', 'playground');
const TFJS_WASM = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
/** The binaries tfjs-backend-wasm picks from (threads need cross-origin isolation, which the page does not set). */
const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
];

/** A file's bytes, minified and gzipped (as a server could send it). */
export interface BundleSize {
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export interface PlaygroundBuild {
  readonly outdir: string;
  /** What the page loads first: app.js (the runtime and its kernels included). */
  readonly initial: BundleSize;
  /** What "fine-tune here" loads on top, on first use: fine-tune.js (tfjs, the wasm backend, the training loop). */
  readonly fineTune: BundleSize;
  /** tfjs-backend-wasm's binary the fine-tuning fetches (the SIMD one in current browsers). */
  readonly wasmBytes: number;
}

/**
 * Bundles one entry of src/playground into `outdir`. The page and the fine-tuning code are two bundles, not
 * one split build: code the two share (the container codec, errors) would otherwise move into a shared chunk
 * that the first load pays for in full.
 */
async function bundle(entry: string, outdir: string, external: string[]): Promise<BundleSize> {
  const result = await build({
    entryPoints: [join(SOURCE, `${entry}.ts`)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // package.json's #platform/* imports resolve to the sources' browser stand-ins under this condition.
    conditions: ['dynaprune-source'],
    external,
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  await writeFile(join(outdir, `${entry}.js`), code);
  return { file: `${entry}.js`, bytes: code.length, gzipBytes: gzipSync(code).length };
}

/** Bundles the page into `outdir` (default dist/playground); the served files need nothing else. */
export async function buildPlayground(
  outdir = join(ROOT, 'dist', 'playground'),
): Promise<PlaygroundBuild> {
  // dist/playground also holds tsc's output (server.js, catalog.js): write beside it, remove nothing.
  await mkdir(join(outdir, 'wasm'), { recursive: true });
  // app.ts imports './fine-tune.js' dynamically: left as is, it loads the second bundle beside app.js.
  const initial = await bundle('app', outdir, ['./fine-tune.js']);
  const fineTune = await bundle('fine-tune', outdir, []);
  for (const file of ['index.html', 'style.css'])
    await copyFile(join(SOURCE, file), join(outdir, file));
  for (const file of WASM_FILES) await copyFile(join(TFJS_WASM, file), join(outdir, 'wasm', file));
  return {
    outdir,
    initial,
    fineTune,
    wasmBytes: (await stat(join(TFJS_WASM, WASM_FILES[1]!))).size,
  };
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const built = await buildPlayground();
  console.log(
    `playground: first load ${built.initial.file} ${kib(built.initial.bytes)} minified, ` +
      `${kib(built.initial.gzipBytes)} gzipped; fine-tuning on demand ${built.fineTune.file} ` +
      `${kib(built.fineTune.bytes)} minified, ${kib(built.fineTune.gzipBytes)} gzipped, plus ` +
      `wasm/${WASM_FILES[1]} ${kib(built.wasmBytes)}`,
  );
}
