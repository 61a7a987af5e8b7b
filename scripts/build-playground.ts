// Builds the playground page into dist/playground (npm run build): the runtime and the page script bundled and
// minified for browsers, plus index.html and style.css. Prints the bundle's size, minified and gzipped.
import { build } from 'esbuild';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'src', 'playground');

export interface PlaygroundBuild {
  readonly outdir: string;
  /** app.js, minified. */
  readonly bytes: number;
  readonly gzipBytes: number;
}

/** Bundles the page into `outdir` (default dist/playground); the served files need nothing else. */
export async function buildPlayground(
  outdir = join(ROOT, 'dist', 'playground'),
): Promise<PlaygroundBuild> {
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: [join(SOURCE, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // package.json's #platform/* imports resolve to the sources' browser stand-ins under this condition.
    conditions: ['dynaprune-source'],
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  await writeFile(join(outdir, 'app.js'), code);
  for (const file of ['index.html', 'style.css'])
    await copyFile(join(SOURCE, file), join(outdir, file));
  return { outdir, bytes: code.length, gzipBytes: gzipSync(code).length };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const built = await buildPlayground();
  console.log(
    `playground: ${built.outdir}/app.js ${(built.bytes / 1024).toFixed(1)} KiB minified, ` +
      `${(built.gzipBytes / 1024).toFixed(1)} KiB gzipped`,
  );
}
