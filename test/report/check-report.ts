// Checks a report folder: real PNGs with content, SVGs, markdown and HTML naming every model, a valid summary.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { expect } from 'vitest';
import { parseSummary } from '../../src/report/summary.js';

/** Width, height and whether the decoded pixels hold more than one colour. */
function inspectPng(bytes: Buffer): { width: number; height: number; colours: number } {
  expect(Array.from(bytes.subarray(0, 8))).toEqual([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
  ]);
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const chunks: Buffer[] = [];
  for (let at = 8; at < bytes.length;) {
    const length = bytes.readUInt32BE(at);
    if (bytes.toString('ascii', at + 4, at + 8) === 'IDAT')
      chunks.push(bytes.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(chunks));
  const seen = new Set<number>();
  for (let i = 0; i < raw.length && seen.size < 3; i += 97) seen.add(raw[i]!);
  return { width, height, colours: seen.size };
}

export async function checkReportFiles(dir: string, labels: readonly string[]): Promise<void> {
  for (const name of ['accuracy', 'loss', 'sparsity', 'comparison']) {
    const png = inspectPng(await readFile(join(dir, `${name}.png`)));
    expect(png.width).toBeGreaterThan(200);
    expect(png.height).toBeGreaterThan(100);
    expect(png.colours).toBeGreaterThan(1);
    const svg = await readFile(join(dir, `${name}.svg`), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
  }
  const md = await readFile(join(dir, 'report.md'), 'utf8');
  const html = await readFile(join(dir, 'report.html'), 'utf8');
  for (const label of labels) {
    expect(md).toContain(label);
    expect(html).toContain(label);
  }
  parseSummary(JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')));
}
