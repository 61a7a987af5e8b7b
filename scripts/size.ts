// Reports the minified + gzipped size of the runtime entry (JS with its embedded WebAssembly), and fails if
// the bundle pulls in tfjs. Run: npm run size
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LIMIT = 60 * 1024;

const result = await build({
  entryPoints: [join(root, 'src/runtime/index.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  metafile: true,
  // Only reached in Node, through a dynamic import: browsers never load it.
  external: ['node:fs/promises'],
  logLevel: 'silent',
});
const code = result.outputFiles[0]!.contents;
const inputs = Object.keys(result.metafile.inputs);
const tfjs = inputs.filter((p) => p.includes('@tensorflow'));
const gz = gzipSync(code, { level: 9 }).length;
const largest = Object.entries(result.metafile.outputs)[0]![1].inputs;
const top = Object.entries(largest)
  .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
  .slice(0, 8)
  .map(
    ([path, info]) =>
      `  ${String(info.bytesInOutput).padStart(7)}  ${path.replace(/^.*node_modules\//, '')}`,
  );
process.stdout.write(
  [
    `dynaprune/runtime: ${code.length} bytes minified, ${gz} bytes (${(gz / 1024).toFixed(1)} KiB) minified + gzipped`,
    '(the WebAssembly kernels are inside, base64-encoded)',
    'largest inputs (bytes in the minified output):',
    ...top,
    `limit: ${(LIMIT / 1024).toFixed(0)} KiB`,
  ].join('\n') + '\n',
);
process.stdout.write(
  JSON.stringify({
    runtimeMinGzipBytes: gz,
    runtimeMinBytes: code.length,
    tfjsModules: tfjs.length,
  }) + '\n',
);
if (tfjs.length > 0) {
  process.stderr.write(`The runtime bundle includes tfjs: ${tfjs.slice(0, 3).join(', ')}\n`);
  process.exitCode = 1;
} else if (gz > LIMIT) {
  process.stderr.write(`The runtime bundle is over the ${LIMIT}-byte limit.\n`);
  process.exitCode = 1;
}
