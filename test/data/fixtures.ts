// Writes small CIFAR-10 and IDX datasets in the official layouts, for tests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create } from 'tar';

/** The pixel value a fixture record holds at (image, channel, y, x): distinct, easy to check. */
export const fixturePixel = (image: number, channel: number, y: number, x: number): number =>
  (image * 7 + channel * 50 + y * 3 + x) % 256;

/** One CIFAR-10 batch file of `records` records, labels `(first + i) % 10`. */
export function cifarBatch(records: number, first: number): Buffer {
  const out = Buffer.alloc(records * 3073);
  for (let r = 0; r < records; r++) {
    const image = first + r;
    out[r * 3073] = image % 10;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++)
          out[r * 3073 + 1 + c * 1024 + y * 32 + x] = fixturePixel(image, c, y, x);
      }
    }
  }
  return out;
}

/** Writes `<root>/cifar-10-batches-bin/` with `records` records per file; test images start at 1000. */
export async function writeCifarFolder(root: string, records: number): Promise<string> {
  const dir = join(root, 'cifar-10-batches-bin');
  await mkdir(dir, { recursive: true });
  for (let b = 1; b <= 5; b++)
    await writeFile(join(dir, `data_batch_${b}.bin`), cifarBatch(records, (b - 1) * records));
  await writeFile(join(dir, 'test_batch.bin'), cifarBatch(records, 1000));
  await writeFile(
    join(dir, 'batches.meta.txt'),
    'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n',
  );
  return dir;
}

/** Writes `<root>/cifar-10-binary.tar.gz` holding a fixture folder; returns the archive's path. */
export async function writeCifarArchive(root: string, records: number): Promise<string> {
  const staging = join(root, 'staging');
  await writeCifarFolder(staging, records);
  const archive = join(root, 'cifar-10-binary.tar.gz');
  await create({ gzip: true, file: archive, cwd: staging }, ['cifar-10-batches-bin']);
  return archive;
}

/** IDX bytes: magic 0x0000 08 rank, big-endian dims, then the data. */
export function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** Writes the four MNIST-format files (gzipped or raw) with `train`/`test` images of 28x28. */
export async function writeIdxFolder(
  dir: string,
  train: number,
  test: number,
  gzip: boolean,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const write = async (name: string, bytes: Uint8Array) =>
    writeFile(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  for (const [prefix, n] of [
    ['train', train],
    ['t10k', test],
  ] as const) {
    const images = new Uint8Array(n * 784).map((_, i) => i % 251);
    const labels = new Uint8Array(n).map((_, i) => i % 10);
    await write(`${prefix}-images-idx3-ubyte`, idxBytes([n, 28, 28], images));
    await write(`${prefix}-labels-idx1-ubyte`, idxBytes([n], labels));
  }
}
