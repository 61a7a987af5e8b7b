// Keeps the README's examples identical to the files under examples/readme/ (which a test runs):
// `tsx scripts/readme-examples.ts` copies each file into the README block that names it; `--check` only compares.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One example block of the README: `<!-- example: PATH -->` on the line before a fenced code block. */
export interface ReadmeExample {
  /** The example's path, relative to the repository root. */
  readonly path: string;
  /** The code block's contents (without the fences). */
  readonly body: string;
  /** Offsets of the contents in the README text. */
  readonly start: number;
  readonly end: number;
}

const MARKER = /<!-- example: (\S+) -->\n```[\w-]*\n/g;

/** The README's example blocks, in order. */
export function readmeExamples(readme: string): ReadmeExample[] {
  const found: ReadmeExample[] = [];
  for (const match of readme.matchAll(MARKER)) {
    const start = match.index + match[0].length;
    const end = readme.indexOf('```', start);
    if (end < 0) throw new Error(`The README block of ${match[1]} has no closing fence.`);
    found.push({ path: match[1]!, body: readme.slice(start, end), start, end });
  }
  return found;
}

/** The README with every example block replaced by its file's text. */
export function withExamples(readme: string, read: (path: string) => string): string {
  let out = '';
  let at = 0;
  for (const example of readmeExamples(readme)) {
    out += readme.slice(at, example.start) + read(example.path);
    at = example.end;
  }
  return out + readme.slice(at);
}

if (process.argv[1]?.endsWith('readme-examples.ts')) {
  const root = join(import.meta.dirname, '..');
  const readmePath = join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const updated = withExamples(readme, (path) => readFileSync(join(root, path), 'utf8'));
  if (process.argv.includes('--check')) {
    if (updated !== readme) {
      console.error('README.md differs from examples/: run `npm run readme:examples`.');
      process.exit(1);
    }
    console.log(`README.md holds its ${readmeExamples(readme).length} examples verbatim.`);
  } else {
    writeFileSync(readmePath, updated);
    console.log(`README.md: ${readmeExamples(updated).length} examples copied from examples/.`);
  }
}
