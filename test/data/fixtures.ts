// Writes small CIFAR-10 and IDX datasets in the official layouts, and serves files over local HTTP, for tests.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create } from 'tar';

/** The pixel value a fixture image holds at (image, channel, y, x): distinct per coordinate, easy to check. */
export const fixturePixel = (image: number, channel: number, y: number, x: number): number =>
  (image * 7 + channel * 50 + y * 3 + x) % 256;

/** The label of fixture image `image`. */
export const fixtureLabel = (image: number): number => image % 10;

/** Test images are numbered from here, so that they differ from every training image. */
export const FIRST_TEST_IMAGE = 1000;

/** One CIFAR-10 batch file: `records` records of images `first`, `first + 1`, ..., planar RGB. */
export function cifarBatch(records: number, first: number, seed = 0): Buffer {
  const out = Buffer.alloc(records * 3073);
  for (let r = 0; r < records; r++) {
    const image = first + r;
    out[r * 3073] = fixtureLabel(image);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          out[r * 3073 + 1 + c * 1024 + y * 32 + x] = (fixturePixel(image, c, y, x) + seed) % 256;
        }
      }
    }
  }
  return out;
}

/** Options of the CIFAR-10 fixture writers. */
export interface CifarFixtureOptions {
  /** Added to every pixel, so two fixtures can differ. Default 0. */
  readonly seed?: number;
  /** Write batches.meta.txt (default true). */
  readonly meta?: boolean;
}

/**
 * Writes `<root>/cifar-10-batches-bin/` with `records` records per batch file. Training image i is
 * record i % records of data_batch_(1 + i / records); test images start at {@link FIRST_TEST_IMAGE}.
 */
export async function writeCifarFolder(
  root: string,
  records: number,
  options: CifarFixtureOptions = {},
): Promise<string> {
  const dir = join(root, 'cifar-10-batches-bin');
  await mkdir(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) {
    await writeFile(
      join(dir, `data_batch_${b}.bin`),
      cifarBatch(records, (b - 1) * records, options.seed),
    );
  }
  await writeFile(join(dir, 'test_batch.bin'), cifarBatch(records, FIRST_TEST_IMAGE, options.seed));
  if (options.meta ?? true) {
    await writeFile(
      join(dir, 'batches.meta.txt'),
      'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n',
    );
  }
  return dir;
}

/** Writes `<root>/cifar-10-binary.tar.gz` holding a fixture folder; returns the archive's path. */
export async function writeCifarArchive(
  root: string,
  records: number,
  options: CifarFixtureOptions & {
    /** Also pack a top-level `extra.txt` and a symlink inside the folder (neither may be extracted). */
    readonly strays?: boolean;
    /** Archive file name (default cifar-10-binary.tar.gz). */
    readonly name?: string;
  } = {},
): Promise<string> {
  const staging = join(root, `staging-${options.name ?? 'default'}-${options.seed ?? 0}`);
  await writeCifarFolder(staging, records, options);
  const entries = ['cifar-10-batches-bin'];
  if (options.strays) {
    await writeFile(join(staging, 'extra.txt'), 'not part of CIFAR-10');
    await symlink('/etc/hostname', join(staging, 'cifar-10-batches-bin', 'link'));
    entries.push('extra.txt');
  }
  const archive = join(root, options.name ?? 'cifar-10-binary.tar.gz');
  await create({ gzip: true, file: archive, cwd: staging }, entries);
  return archive;
}

/** IDX bytes: two zero bytes, type 0x08, the rank, big-endian dims, then the data. */
export function idxBytes(dims: readonly number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** The pixel a fixture IDX image holds at flat position `p` of image `image`. */
export const idxPixel = (image: number, p: number): number => (image * 13 + p) % 251;

/** Options of {@link writeIdxFolder}. */
export interface IdxFixtureOptions {
  readonly gzip: boolean;
  /** Image side (default 28). */
  readonly side?: number;
  /** Use the dotted names some mirrors use (`train-images.idx3-ubyte`). */
  readonly dotted?: boolean;
}

/** Writes the four MNIST-format files with `train` and `test` images; labels are `i % 10`. */
export async function writeIdxFolder(
  dir: string,
  train: number,
  test: number,
  options: IdxFixtureOptions,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const side = options.side ?? 28;
  const write = async (name: string, bytes: Uint8Array) => {
    const base = options.dotted ? name.replace(/-(idx\d-ubyte)$/, '.$1') : name;
    await writeFile(
      join(dir, options.gzip ? `${base}.gz` : base),
      options.gzip ? gzipSync(bytes) : bytes,
    );
  };
  for (const [prefix, n] of [
    ['train', train],
    ['t10k', test],
  ] as const) {
    const pixels = side * side;
    const images = new Uint8Array(n * pixels).map((_, i) =>
      idxPixel(Math.floor(i / pixels), i % pixels),
    );
    const labels = new Uint8Array(n).map((_, i) => i % 10);
    await write(`${prefix}-images-idx3-ubyte`, idxBytes([n, side, side], images));
    await write(`${prefix}-labels-idx1-ubyte`, idxBytes([n], labels));
  }
}

/** Starts an HTTP server on 127.0.0.1 with a free port; returns it and its base URL. */
export async function startServer(
  handler: RequestListener,
): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Stops a server started by {@link startServer}, dropping open connections. */
export async function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
