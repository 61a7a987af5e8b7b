// Reads IDX files (the MNIST format), gzipped or raw, checking every size field against the real length.
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip, gunzipSync, type ZlibOptions } from 'node:zlib';
import { CorruptFileError } from '../errors.js';

/** A parsed IDX file: unsigned bytes with their dimensions (outermost first). */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** Options of {@link parseIdx} and {@link readIdxFile}. */
export interface IdxReadOptions {
  /**
   * The largest file, after decompression, that will be accepted (default 1 GiB; MNIST's largest file
   * is 47 MB). It bounds what a corrupt or hostile gzip stream can make the reader allocate.
   */
  readonly maxBytes?: number;
}

/** IDX element type 0x08: unsigned bytes, the only type MNIST and Fashion-MNIST use. */
const UNSIGNED_BYTE = 0x08;
const DEFAULT_MAX_BYTES = 2 ** 30;
const gunzipAsync = promisify<Uint8Array, ZlibOptions, Buffer>(gunzip);

/** True when `bytes` start with the gzip magic (1f 8b). */
export const isGzip = (bytes: Uint8Array): boolean =>
  bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

function gunzipError(file: string, error: unknown, maxBytes: number): CorruptFileError {
  const tooLarge = (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
  return new CorruptFileError(
    file,
    tooLarge
      ? `decompresses to more than ${maxBytes} bytes (maxBytes); it is not an MNIST-format file.`
      : `is not valid gzip (${(error as Error).message}).`,
    'E_CORRUPT_FILE',
    { cause: error },
  );
}

/**
 * Parses IDX bytes. Gzipped input (detected by its magic) is decompressed first. The header (two zero
 * bytes, the element type, the rank, then one big-endian uint32 per dimension) must describe exactly the
 * bytes that follow it. Only unsigned-byte data (magic 0x0000 08 rank) is accepted.
 *
 * The returned `data` is a view into the (decompressed) input, not a copy.
 *
 * @throws CorruptFileError for bad gzip, a bad magic, another element type, or sizes that disagree.
 */
export function parseIdx(
  bytes: Uint8Array,
  file = '<memory>',
  options: IdxReadOptions = {},
): IdxArray {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let raw = bytes;
  if (isGzip(bytes)) {
    try {
      raw = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (error) {
      throw gunzipError(file, error, maxBytes);
    }
  }
  return parseRawIdx(raw, file);
}

function parseRawIdx(raw: Uint8Array, file: string): IdxArray {
  if (raw.length < 4) {
    throw new CorruptFileError(file, `has ${raw.length} bytes; an IDX header needs at least 4.`);
  }
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw new CorruptFileError(
      file,
      'does not start with the IDX magic (two zero bytes); it is not an MNIST-format file.',
    );
  }
  if (raw[2] !== UNSIGNED_BYTE) {
    throw new CorruptFileError(
      file,
      `holds IDX element type 0x${raw[2]!.toString(16).padStart(2, '0')}; expected 0x08 (unsigned bytes).`,
    );
  }
  const rank = raw[3]!;
  if (rank < 1) throw new CorruptFileError(file, 'declares 0 dimensions; expected at least 1.');
  const headerBytes = 4 + 4 * rank;
  if (raw.length < headerBytes) {
    throw new CorruptFileError(
      file,
      `is truncated: its header declares ${rank} dimensions and needs ${headerBytes} bytes; the file ` +
        `has ${raw.length}.`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  let elements = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    elements *= d;
  }
  // Doubles stay exact far beyond any real file, so the product cannot wrap into a matching size.
  if (raw.length !== headerBytes + elements) {
    throw new CorruptFileError(
      file,
      `declares dimensions ${dims.join('x')} (${headerBytes + elements} bytes with the header) but has ` +
        `${raw.length} bytes. The file is ${raw.length < headerBytes + elements ? 'truncated' : 'corrupt'}.`,
    );
  }
  return { dims, data: raw.subarray(headerBytes) };
}

/**
 * Reads and parses one IDX file, gzipped or raw (decided by its first bytes, not its name).
 *
 * @throws CorruptFileError as {@link parseIdx}, or when the file is larger than `maxBytes`.
 */
export async function readIdxFile(path: string, options: IdxReadOptions = {}): Promise<IdxArray> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = (await stat(path)).size;
  if (size > maxBytes) {
    throw new CorruptFileError(path, `has ${size} bytes, more than maxBytes (${maxBytes}).`);
  }
  const bytes = await readFile(path);
  if (!isGzip(bytes)) return parseRawIdx(bytes, path);
  let raw: Buffer;
  try {
    raw = await gunzipAsync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    throw gunzipError(path, error, maxBytes);
  }
  return parseRawIdx(raw, path);
}
