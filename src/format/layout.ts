// Constants of the container's byte layout (docs/FORMAT.md is the specification).

/** "DPRN" in ASCII. */
export const MAGIC = [0x44, 0x50, 0x52, 0x4e] as const;
export const FORMAT_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];
export const HEADER_BYTES = 16;
/** Section framing: kind (u32) + payload length (u32) before, CRC-32 (u32) after. */
export const SECTION_OVERHEAD = 12;

export const SectionKind = {
  topology: 1,
  dense: 2,
  csr: 3,
} as const;

export const ValueType = {
  fp32: 1,
  fp16: 2,
  int8: 3,
} as const;

/**
 * Set in a value-type byte when the values are byte-plane shuffled and deflated (RFC 1951); the low
 * bits keep the precision.
 */
export const DEFLATED_VALUES = 0x80;

export const IndexCoding = {
  /** Gaps between flattened nonzero positions, Golomb-coded. */
  golomb: 1,
  /** Textbook CSR with rowPtr and colIdx in the narrowest of 1, 2 or 4 bytes. */
  narrow: 2,
} as const;

/** How nonzero values are stored: lossless fp32 (default), fp16, or int8 with a per-row scale. */
export type ValuePrecision = keyof typeof ValueType;
export const valuePrecisions: readonly ValuePrecision[] = ['fp32', 'fp16', 'int8'];

/** How CSR indices are stored. */
export type IndexCodingName = keyof typeof IndexCoding;
export const indexCodings: readonly IndexCodingName[] = ['golomb', 'narrow'];

/** Bytes per stored value for each precision (int8 also stores one fp32 scale per row). */
export const VALUE_BYTES: Readonly<Record<ValuePrecision, number>> = { fp32: 4, fp16: 2, int8: 1 };

/** The format's limit on one tensor's logical size (rows · cols, or the product of a dense section's dims). */
export const MAX_MATRIX_ELEMENTS = 2 ** 31;

/**
 * The reader's default ceiling on the elements it allocates for one file (values, indices, row pointers,
 * scales; 2^26 = 64 Mi, 256 MiB as 4-byte arrays). Overridable with DecodeOptions.maxElements.
 */
export const DEFAULT_MAX_ELEMENTS = 2 ** 26;

/**
 * The reader's default ceiling on the topology's JSON (1 MiB), checked before the text is decoded or parsed.
 * Parsing costs time and memory per JSON value rather than per byte: 1 MiB of the densest JSON
 * (`[{},{},...]`, 350,000 objects) takes about 0.45 s of CPU and 46 MiB (docs/FORMAT.md, "Limits"). Real
 * topologies are far smaller (WRN-28-1: 80 nodes, 9.5 kB). Overridable with DecodeOptions.maxTopologyBytes.
 */
export const DEFAULT_MAX_TOPOLOGY_BYTES = 2 ** 20;

/**
 * The reader's default ceiling on the graph's node count (8,192), checked right after parsing, before any
 * node is read: loading costs time and memory per node (a plan step, an activation buffer), and the deepest
 * CNNs have a few thousand nodes (ResNet-1001 ~3,000 with BatchNorm and ReLU as nodes). Overridable with
 * DecodeOptions.maxNodes.
 */
export const DEFAULT_MAX_NODES = 2 ** 13;

/** DEFLATE never expands more than 1032:1 (a 258-byte match in 2 bits), which bounds an inflated block. */
export const MAX_DEFLATE_RATIO = 1032;

/** The Golomb parameter m is 1 to 2^24 (its remainder then fits the 24-bit reads). */
export const MAX_GOLOMB_PARAMETER = 2 ** 24;
