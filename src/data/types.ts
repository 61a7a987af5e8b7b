// The shapes every dataset loader returns and the options they share; no tfjs here, only typed arrays.
import { InvalidArgumentError } from '../errors.js';

/** One example's shape: [height, width, channels]. */
export type ImageShape = readonly [number, number, number];

/**
 * A set of labelled images: `count` images as NHWC uint8 (`count * height * width * channels` bytes),
 * one label byte each. Pixels stay uint8 until a batch is built, which keeps CIFAR-10's 50,000 training
 * images at 150 MB instead of 600 MB as float32.
 */
export interface ImageSplit {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** Where a loader found its data, and whether that data is known to be good. */
export interface DataSource {
  /**
   * How the location was chosen: `data-dir` (the `dataDir` option, `--data-dir`), `env` ($DYNAPRUNE_DATA),
   * `cache` (the cache folder), `download` (fetched during this call) or `system` (a fixed system folder,
   * such as Debian's `/usr/share/datasets/fashion-mnist`).
   */
  readonly origin: 'data-dir' | 'env' | 'cache' | 'download' | 'system';
  /** The archive, or the folder holding the data files, that was read. */
  readonly path: string;
  /**
   * True when the data came from an archive whose digest is in the known-checksum list. Plain folders
   * cannot be verified and report false; their structure is still validated.
   */
  readonly verified: boolean;
  /** The archive's digests (lower-case hex), when the data came from an archive. */
  readonly checksum?: { readonly md5: string; readonly sha256: string };
  /** The description of the known checksum that matched (for example "official archive"). */
  readonly matched?: string;
}

/** A loaded dataset: pixels as NHWC uint8, labels as bytes, plus what a model needs to know. */
export interface Dataset {
  /** The registry name (`cifar10`, `mnist`, `fashion-mnist`). */
  readonly name: string;
  readonly train: ImageSplit;
  /** The test split; the paper uses it as validation data. */
  readonly test: ImageSplit;
  /** Shape of one image, [height, width, channels]. */
  readonly inputShape: ImageShape;
  readonly numClasses: number;
  /** Human-readable class names, indexed by label. */
  readonly labelNames: readonly string[];
  readonly source: DataSource;
}

/** Progress of a long data operation, for progress bars. */
export interface DataProgress {
  /** `download`: bytes received; `verify`: bytes hashed; `extract`: archive bytes unpacked. */
  readonly phase: 'download' | 'verify' | 'extract';
  readonly bytesDone: number;
  /** Undefined when unknown (a server that sends no content-length). */
  readonly bytesTotal?: number;
}

/** Options every dataset loader accepts. */
export interface CommonLoadOptions {
  /**
   * A local copy of the data (the CLI's `--data-dir`). It overrides $DYNAPRUNE_DATA, and it must hold the
   * dataset: a path that does not is an error, not a reason to look elsewhere.
   */
  readonly dataDir?: string;
  /** The cache folder for extractions and downloads. Default: $DYNAPRUNE_CACHE, else ~/.cache/dynaprune. */
  readonly cacheDir?: string;
  /** Keep only the first N training examples (quick runs). Default: all. */
  readonly trainLimit?: number;
  /** Keep only the first N test examples. Default: all. */
  readonly testLimit?: number;
  /** Receives progress of downloads, checksum passes and extractions. */
  readonly onProgress?: (progress: DataProgress) => void;
  /**
   * Receives warnings the caller may want to show, such as a local archive whose checksum is not in the
   * known list. The library never prints.
   */
  readonly onWarning?: (message: string) => void;
}

/** Checks a `trainLimit`/`testLimit` option: undefined or a non-negative integer. */
export function checkLimit(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      `${name} must be a non-negative integer (the number of examples to keep); got ${value}.`,
    );
  }
}
