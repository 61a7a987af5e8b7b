// The README works as written: its examples are the files under examples/readme/, and each one runs, from
// the packed tarball installed in a fresh CommonJS-default project, offline, with the data in the cache.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeExamples } from '../../scripts/readme-examples.js';
import { extractCifarArchive } from '../../src/data/cifar10-archive.js';

const ROOT = join(import.meta.dirname, '../..');
const CIFAR = join(ROOT, '../shared/data/cifar10/cifar-10-binary.tar.gz');
const haveCifar = existsSync(CIFAR);
if (!haveCifar) console.warn(`SKIPPED running the README examples: ${CIFAR} is absent.`);
const run = promisify(execFile);

/** Small limits for the README's commands: the same commands, appended flags win (commander keeps the last). */
const CLI_LIMITS = `
npx() {
  [ "$1" = dynaprune ] || { echo "the README runs only dynaprune through npx" >&2; return 1; }
  shift
  case "$1" in
    train)
      local epochs=1
      case " $* " in *" --resume "*) epochs=2 ;; esac
      node "$DYNAPRUNE_BIN" "$@" --epochs "$epochs" --train-limit 256 --test-limit 100 ;;
    eval) node "$DYNAPRUNE_BIN" "$@" --test-limit 100 ;;
    *) node "$DYNAPRUNE_BIN" "$@" ;;
  esac
}
`;

interface Ran {
  readonly code: number | null;
  readonly output: string;
}

function runIn(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Copies what `npm pack` needs into `into` and packs it there (its `prepare` builds dist/), so the
 * repository's own dist/ is never rebuilt under other tests. Returns the tarball's path. */
async function packCopy(into: string): Promise<string> {
  for (const name of [
    'package.json',
    'README.md',
    'LICENSE',
    'tsconfig.json',
    'tsconfig.build.json',
  ]) {
    await cp(join(ROOT, name), join(into, name));
  }
  for (const name of ['src', 'assembly', 'scripts', 'docs']) {
    await cp(join(ROOT, name), join(into, name), { recursive: true });
  }
  await symlink(join(ROOT, 'node_modules'), join(into, 'node_modules'));
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts=false'], {
    cwd: into,
    maxBuffer: 1 << 26,
  });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string }[];
  return join(into, packed!.filename);
}

/**
 * A fresh `npm init -y` project (CommonJS by default) with the tarball unpacked as node_modules/dynaprune
 * and its dependencies linked from the repository's node_modules: an offline `npm install`.
 */
async function installInFreshProject(tarball: string, project: string): Promise<void> {
  await mkdir(project, { recursive: true });
  await run('npm', ['init', '-y'], { cwd: project });
  const target = join(project, 'node_modules', 'dynaprune');
  await mkdir(target, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
  const manifest = JSON.parse(await readFile(join(target, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    bin: Record<string, string>;
  };
  for (const dep of Object.keys(manifest.dependencies)) {
    const link = join(project, 'node_modules', dep);
    await mkdir(dirname(link), { recursive: true });
    await symlink(join(ROOT, 'node_modules', dep), link);
  }
  await mkdir(join(project, 'node_modules', '.bin'));
  await symlink(
    join('..', 'dynaprune', manifest.bin['dynaprune']!),
    join(project, 'node_modules', '.bin', 'dynaprune'),
  );
}

describe('README examples', () => {
  let readme: string;
  beforeAll(async () => {
    readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  });

  it('are the files under examples/readme/, verbatim, and every file is in the README', async () => {
    const examples = readmeExamples(readme);
    const files = (await readdir(join(ROOT, 'examples/readme'))).map((f) => `examples/readme/${f}`);
    expect(examples.map((e) => e.path).sort()).toEqual(files.sort());
    for (const example of examples) {
      expect(example.body, example.path).toBe(await readFile(join(ROOT, example.path), 'utf8'));
    }
  });
});

describe.skipIf(!haveCifar)('the README, run from the packed tarball', () => {
  let dir: string;
  let project: string;
  let env: NodeJS.ProcessEnv;
  let packedFiles: string[];
  let tarballBytes = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynaprune-readme-'));
    const tarball = await packCopy(await mkdtemp(join(dir, 'pack-')));
    const { stdout } = await run('tar', ['-tzf', tarball]);
    packedFiles = stdout.trim().split('\n');
    tarballBytes = (await stat(tarball)).size;
    project = join(dir, 'new-user');
    await installInFreshProject(tarball, project);
    await cp(join(ROOT, 'examples/readme'), project, { recursive: true });
    // What the README's first command (`dynaprune paper --data-dir ...`) leaves in the cache.
    const cache = join(dir, 'cache');
    await extractCifarArchive(CIFAR, cache);
    env = {
      PATH: process.env['PATH'],
      HOME: dir,
      DYNAPRUNE_CACHE: cache,
      DYNAPRUNE_BIN: join(project, 'node_modules/.bin/dynaprune'),
    };
  }, 600_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('packs the built entry points, the CLI, the README and the LICENSE, and no sources, tests or images', () => {
    for (const file of [
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/node.js',
      'package/dist/runtime/index.js',
      'package/dist/cli/main.js',
      'package/README.md',
      'package/LICENSE',
      'package/package.json',
      'package/docs/FORMAT.md',
    ]) {
      expect(packedFiles).toContain(file);
    }
    expect(packedFiles.filter((f) => /^package\/(src|test|bench|results)\//.test(f))).toEqual([]);
    // The README's screenshots (~1 MB) stay in the repository; source maps too.
    expect(packedFiles.filter((f) => /\.(png|map)$/.test(f))).toEqual([]);
    // About 700 KiB (2026-12-02; docs/ and the kernels grow a little with each issue): the playground that
    // `dynaprune serve` ships is most of it (its fine-tuning bundle, tfjs and the training loop, ~240 KiB
    // gzipped; tfjs's wasm binaries are served from the installed package): nothing else large may join it
    // unnoticed. The README's screenshots alone would add ~1 MB.
    expect(tarballBytes).toBeLessThan(760 * 1024);
  });

  it('runs the command-line tour, offline, finding the data in the cache', async () => {
    const tour = await runIn(
      project,
      'bash',
      ['-c', `set -euo pipefail\n${CLI_LIMITS}\nsource cli-tour.sh`],
      env,
    );
    expect(tour.code, tour.output).toBe(0);
    expect(tour.output).not.toMatch(/download/i);
    expect(tour.output).toMatch(/from .*cifar10-\w+.* \(verified: rebuilt copy/);
    expect(tour.output).toMatch(/resuming with --epochs 2/);
    expect(tour.output).toMatch(/runs\/dsr\/model\.dpr \[runtime\]: test accuracy/);
    const config = JSON.parse(await readFile(join(project, 'runs/dsr/config.json'), 'utf8'));
    expect(config.command).toMatch(/^dynaprune train --model paper-cnn --method dsr/);
  }, 900_000);

  it.each(['fit.mjs', 'custom-loop.mjs', 'storage.mjs', 'runtime.mjs', 'commonjs.cjs'])(
    'runs %s in the CommonJS-default project',
    async (file) => {
      const result = await runIn(project, process.execPath, [file], env);
      expect(result.code, result.output).toBe(0);
    },
    600_000,
  );
});
