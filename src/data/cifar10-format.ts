// The CIFAR-10 binary format: file names, record layout, size checks, and planar-RGB to NHWC decoding.
import { CorruptFileError } from '../errors.js';

/** The folder the official archive unpacks to. */
export const CIFAR10_FOLDER = 'cifar-10-batches-bin';
/** The official archive's file name. */
export const CIFAR10_ARCHIVE = 'cifar-10-binary.tar.gz';
/** Pixels per image: 32 x 32 x 3. */
export const CIFAR10_IMAGE_BYTES = 3072;
/** Bytes per record: one label byte, then 1,024 red, 1,024 green and 1,024 blue bytes, each row-major. */
export const CIFAR10_RECORD_BYTES = 1 + CIFAR10_IMAGE_BYTES;
/** Records per batch file in the official archive. */
export const CIFAR10_RECORDS_PER_FILE = 10000;
export const CIFAR10_TRAIN_FILES: readonly string[] = [1, 2, 3, 4, 5].map(
  (i) => `data_batch_${i}.bin`,
);
export const CIFAR10_TEST_FILE = 'test_batch.bin';
/** Every batch file a complete folder holds, training files first. */
export const CIFAR10_BATCH_FILES: readonly string[] = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];
/** The label-name file; one name per line. */
export const CIFAR10_META_FILE = 'batches.meta.txt';

/** The class names, as `batches.meta.txt` lists them. */
export const CIFAR10_LABELS: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/**
 * How many records a batch file must hold: a number (10,000 for official data), or `'any'` for any
 * positive whole number of records (small test archives, subsets).
 */
export type RecordsPerFile = number | 'any';

/**
 * The number of records in a batch file of `size` bytes, or a CorruptFileError naming the file and the
 * size it should have. Runs before anything is allocated for the file.
 */
export function recordsInBatchFile(file: string, size: number, expected: RecordsPerFile): number {
  const wholeRecords = size > 0 && size % CIFAR10_RECORD_BYTES === 0;
  if (expected === 'any') {
    if (wholeRecords) return size / CIFAR10_RECORD_BYTES;
    throw new CorruptFileError(
      file,
      `has ${size} bytes; expected a positive multiple of ${CIFAR10_RECORD_BYTES} (whole records of ` +
        `${CIFAR10_RECORD_BYTES} bytes). The file is truncated or not a CIFAR-10 binary batch.`,
    );
  }
  const expectedBytes = expected * CIFAR10_RECORD_BYTES;
  if (size === expectedBytes) return expected;
  throw new CorruptFileError(
    file,
    `has ${size} bytes; expected ${expectedBytes} (${expected} records of ${CIFAR10_RECORD_BYTES} bytes). ` +
      (size < expectedBytes
        ? 'The file is truncated: extract or download it again.'
        : 'The file is not a CIFAR-10 binary batch.'),
  );
}

/**
 * Decodes `count` records from `bytes` into `images` (NHWC, starting at image `first`) and `labels`.
 * The format stores each image as three planes (all red, then green, then blue); models want the three
 * channels of a pixel side by side, so the planes are interleaved here, once, at load time.
 *
 * @throws CorruptFileError when a label byte is not 0-9.
 */
export function decodeRecords(
  file: string,
  bytes: Uint8Array,
  count: number,
  images: Uint8Array,
  labels: Uint8Array,
  first: number,
): void {
  const plane = CIFAR10_IMAGE_BYTES / 3;
  for (let r = 0; r < count; r++) {
    const at = r * CIFAR10_RECORD_BYTES;
    const label = bytes[at]!;
    if (label > 9) {
      throw new CorruptFileError(
        file,
        `record ${r} (byte offset ${at}) has label ${label}; CIFAR-10 labels are 0 to 9. The file is ` +
          'corrupt or not a CIFAR-10 batch (CIFAR-100 records have two label bytes).',
      );
    }
    labels[first + r] = label;
    const red = at + 1;
    const out = (first + r) * CIFAR10_IMAGE_BYTES;
    for (let p = 0; p < plane; p++) {
      const o = out + 3 * p;
      images[o] = bytes[red + p]!;
      images[o + 1] = bytes[red + plane + p]!;
      images[o + 2] = bytes[red + 2 * plane + p]!;
    }
  }
}

/**
 * Parses `batches.meta.txt`: one class name per line, blank lines ignored (the official file ends with
 * some). Anything but exactly ten names is a CorruptFileError.
 */
export function parseLabelNames(file: string, text: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== 10) {
    throw new CorruptFileError(
      file,
      `lists ${names.length} class names; expected 10, one per line (airplane ... truck).`,
    );
  }
  return names;
}
