// Reads IDX files (the MNIST format), gzipped or raw, with every size field checked against the real length.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CorruptFileError, DataNotFoundError } from '../errors.js';
import type { ImageSplit } from '../train/batch.js';

/** A parsed IDX file: unsigned bytes with their dimensions. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

/**
 * Parses IDX bytes (gunzipping first when they start with the gzip magic). Only unsigned-byte data is
 * accepted, which is what MNIST and Fashion-MNIST use.
 */
export function parseIdx(bytes: Uint8Array, file = '<memory>'): IdxArray {
  let raw = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = gunzipSync(bytes);
    } catch (error) {
      throw new CorruptFileError(
        file,
        `is not valid gzip (${(error as Error).message}).`,
        'E_CORRUPT_FILE',
        {
          cause: error,
        },
      );
    }
  }
  if (raw.length < 4)
    throw new CorruptFileError(file, `has ${raw.length} bytes; an IDX header needs at least 4.`);
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw new CorruptFileError(file, 'does not start with the IDX magic (two zero bytes).');
  }
  if (raw[2] !== UNSIGNED_BYTE) {
    throw new CorruptFileError(
      file,
      `holds IDX type 0x${raw[2]!.toString(16)}; expected 0x08 (unsigned bytes).`,
    );
  }
  const rank = raw[3]!;
  if (rank < 1 || rank > 4)
    throw new CorruptFileError(file, `declares ${rank} dimensions; expected 1 to 4.`);
  const header = 4 + 4 * rank;
  if (raw.length < header) {
    throw new CorruptFileError(
      file,
      `is truncated: its header needs ${header} bytes, the file has ${raw.length}.`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  if (raw.length !== header + size) {
    throw new CorruptFileError(
      file,
      `declares dimensions ${dims.join('x')} (${header + size} bytes) but has ${raw.length} bytes.`,
    );
  }
  return { dims, data: raw.subarray(header) };
}

async function readIdxFile(dir: string, base: string): Promise<IdxArray> {
  for (const name of [`${base}.gz`, base]) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(dir, name));
    } catch {
      continue;
    }
    return parseIdx(bytes, join(dir, name));
  }
  throw new DataNotFoundError(`Neither ${base}.gz nor ${base} is in ${dir}.`);
}

async function readIdxSplit(
  dir: string,
  prefix: string,
  limit: number | undefined,
  classes: number,
): Promise<ImageSplit & { readonly height: number; readonly width: number }> {
  const images = await readIdxFile(dir, `${prefix}-images-idx3-ubyte`);
  const labels = await readIdxFile(dir, `${prefix}-labels-idx1-ubyte`);
  if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
    throw new CorruptFileError(
      join(dir, prefix),
      `images ${images.dims.join('x')} and labels ${labels.dims.join('x')} do not match; expected [N, 28, 28] and [N].`,
    );
  }
  const [n, h, w] = images.dims as [number, number, number];
  const count = limit === undefined ? n : Math.min(limit, n);
  for (let i = 0; i < count; i++) {
    if (labels.data[i]! >= classes) {
      throw new CorruptFileError(
        join(dir, `${prefix}-labels-idx1-ubyte`),
        `label ${labels.data[i]} at ${i} is not below ${classes}.`,
      );
    }
  }
  return {
    images: images.data.slice(0, count * h * w),
    labels: labels.data.slice(0, count),
    count,
    height: h,
    width: w,
  };
}

/** Reads the four standard MNIST-format files from `dir` (gz or raw): train-* and t10k-*. */
export async function readIdxDataset(
  dir: string,
  options: { trainLimit?: number; testLimit?: number; classes?: number } = {},
): Promise<{ train: ImageSplit; test: ImageSplit; inputShape: [number, number, number] }> {
  const classes = options.classes ?? 10;
  const train = await readIdxSplit(dir, 'train', options.trainLimit, classes);
  const test = await readIdxSplit(dir, 't10k', options.testLimit, classes);
  if (train.height !== test.height || train.width !== test.width) {
    throw new CorruptFileError(
      dir,
      `training images are ${train.height}x${train.width}, test images ${test.height}x${test.width}.`,
    );
  }
  return { train, test, inputShape: [train.height, train.width, 1] };
}
