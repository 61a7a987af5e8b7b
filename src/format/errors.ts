// Typed errors for bad container files: each failure class has its own class, all CorruptFileError.
import { CorruptFileError, ChecksumError } from '../errors.js';

/** The file does not start with the container's magic bytes. */
export class BadMagicError extends CorruptFileError {
  constructor(source: string, found: string) {
    super(
      source,
      `is not a dynaprune container: expected magic "DPRN", found ${found}.`,
      'E_BAD_MAGIC',
    );
  }
}

/** The file's format version is newer (or older) than this reader understands. */
export class UnsupportedVersionError extends CorruptFileError {
  readonly version: number;
  constructor(source: string, version: number, supported: readonly number[]) {
    super(
      source,
      `has format version ${version}; this dynaprune reads version ${supported.join(', ')}. Upgrade dynaprune or re-export the model.`,
      'E_UNSUPPORTED_VERSION',
    );
    this.version = version;
  }
}

/** The file ends before a field or section it declares. */
export class TruncatedFileError extends CorruptFileError {
  constructor(source: string, what: string, needed: number, available: number) {
    super(
      source,
      `is truncated: ${what} needs ${needed} bytes but only ${available} remain.`,
      'E_TRUNCATED',
    );
  }
}

/** A section's CRC-32 does not match its bytes. */
export class SectionChecksumError extends ChecksumError {
  readonly section: string;
  constructor(source: string, section: string, expected: number, actual: number) {
    super(
      source,
      `0x${expected.toString(16).padStart(8, '0')}`,
      `0x${actual.toString(16).padStart(8, '0')}`,
      `Section "${section}" is damaged.`,
    );
    this.section = section;
  }
}

/** A size or count field is impossible: larger than the file could hold, or than the reader allows. */
export class InvalidSizeError extends CorruptFileError {
  constructor(source: string, message: string) {
    super(source, message, 'E_INVALID_SIZE');
  }
}

/** The bytes are well-formed but describe an inconsistent model (bad indices, unknown ops, shape clashes). */
export class InvalidModelError extends CorruptFileError {
  constructor(source: string, message: string) {
    super(source, message, 'E_INVALID_MODEL');
  }
}

/** A stored weight is NaN or ±Infinity: refused unless the reader is told to accept them (allowNonFinite). */
export class NonFiniteValueError extends CorruptFileError {
  constructor(source: string, where: string, index: number, value: number) {
    super(
      source,
      `${where}: value ${index} is ${value}; a model with non-finite weights computes nothing useful. ` +
        'Re-export it from a finite model, or decode with allowNonFinite: true to inspect it.',
      'E_NON_FINITE',
    );
  }
}
