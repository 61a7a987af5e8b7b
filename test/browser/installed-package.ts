// Builds dynaprune as a user would install it (package.json + dist/ under node_modules/dynaprune of a temporary
// project) from the current sources, and runs the esbuild command line there exactly as a user would.
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '../..');

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/**
 * A temporary project whose node_modules holds dynaprune (its package.json and src/ transpiled to dist/, as
 * `npm run build` lays it out, without type-checking) and links to its dependencies. Returns the project folder.
 * Transpiling here, rather than using the repository's dist/, keeps the test true to the sources it runs with.
 */
export async function installDynaprune(): Promise<string> {
  const project = await mkdtemp(join(tmpdir(), 'dynaprune-bundle-'));
  const pkg = join(project, 'node_modules', 'dynaprune');
  await mkdir(pkg, { recursive: true });
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  await writeFile(join(pkg, 'package.json'), JSON.stringify(manifest));
  const entries = await sourceFiles(join(ROOT, 'src'));
  await build({
    entryPoints: entries,
    outdir: join(pkg, 'dist'),
    outbase: join(ROOT, 'src'),
    format: 'esm',
    platform: 'neutral',
    bundle: false,
    logLevel: 'silent',
  });
  for (const name of Object.keys(manifest.dependencies)) {
    const link = join(project, 'node_modules', name);
    await mkdir(join(link, '..'), { recursive: true });
    await symlink(join(ROOT, 'node_modules', name), link, 'dir');
  }
  return project;
}

/** `esbuild --bundle --platform=browser ENTRY --outfile=OUT` in `project`, with no other flag. */
export async function bundleForBrowser(
  project: string,
  entry: string,
  outfile: string,
): Promise<{ code: number; stderr: string; bytes: Uint8Array }> {
  const esbuild = join(ROOT, 'node_modules', '.bin', 'esbuild');
  const args = ['--bundle', '--platform=browser', relative(project, entry), `--outfile=${outfile}`];
  try {
    const { stderr } = await promisify(execFile)(esbuild, args, { cwd: project });
    return { code: 0, stderr, bytes: await readFile(join(project, outfile)) };
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    return { code: e.code ?? 1, stderr: e.stderr ?? String(error), bytes: new Uint8Array() };
  }
}
