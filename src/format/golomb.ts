// Golomb coding of the gaps between nonzero positions: near the entropy bound for random masks.
import { reverseBits, type BitReader, type BitWriter } from './bits.js';

/**
 * The Golomb parameter m minimizing the expected code length for gaps with mean `meanGap` (≥ 1), assuming
 * geometric gaps (a random mask): m = ceil(log(2 − p) / −log(1 − p)) with p = 1 / meanGap (Gallager & van
 * Voorhis 1975). Capped to [1, 2^24].
 */
export function optimalGolombParameter(meanGap: number): number {
  const p = 1 / Math.max(meanGap, 1);
  if (p >= 1) return 1;
  const m = Math.ceil(Math.log(2 - p) / -Math.log(1 - p));
  return Math.min(Math.max(m, 1), 1 << 24);
}

/**
 * Writes `value` ≥ 0 with parameter m: the quotient q = floor(value / m) in unary (q one-bits, then a
 * zero), then the remainder r in truncated binary (b = ceil(log2 m); r < 2^b − m takes b − 1 bits, others
 * take b bits as r + 2^b − m).
 */
export function writeGolomb(out: BitWriter, value: number, m: number): void {
  const q = Math.floor(value / m);
  const r = value - q * m;
  for (let i = 0; i < q; i++) out.writeBit(1);
  out.writeBit(0);
  if (m === 1) return;
  const b = Math.ceil(Math.log2(m));
  const cutoff = 2 ** b - m;
  if (r < cutoff) writeMsbFirst(out, r, b - 1);
  else writeMsbFirst(out, r + cutoff, b);
}

/** Truncated binary is defined most significant bit first (so short and long codes share prefixes). */
function writeMsbFirst(out: BitWriter, value: number, count: number): void {
  for (let i = count - 1; i >= 0; i--) out.writeBit((value >>> i) & 1);
}

/**
 * Reads one Golomb-coded value, or -1 if the bits run out or the quotient exceeds `maxQuotient` (which
 * bounds the work a corrupt stream can cause). Works 24 bits at a time: the unary quotient is a run of
 * one-bits counted with clz32, the truncated-binary remainder is bit-reversed by table.
 */
export function readGolomb(input: BitReader, m: number, maxQuotient: number): number {
  let q = 0;
  for (;;) {
    const window = input.peek24();
    // Trailing one-bits of the window = trailing zero-bits of its complement (at most 24: bit 24 of ~window is set).
    const inverted = ~window;
    const ones = 31 - Math.clz32(inverted & -inverted);
    if (ones < 24) {
      if (input.remaining < ones + 1) return -1;
      input.skip(ones + 1);
      q += ones;
      break;
    }
    if (input.remaining < 24) return -1;
    input.skip(24);
    q += 24;
    if (q > maxQuotient) return -1;
  }
  if (q > maxQuotient) return -1;
  if (m === 1) return q;
  const b = 32 - Math.clz32(m - 1); // ceil(log2 m), m ≥ 2
  const cutoff = (1 << b) - m; // b ≤ 24
  const window = input.peek24();
  let r = reverseBits(window, b - 1);
  if (r < cutoff) {
    if (input.remaining < b - 1) return -1;
    input.skip(b - 1);
    return q * m + r;
  }
  if (input.remaining < b) return -1;
  input.skip(b);
  r = ((r << 1) | ((window >>> (b - 1)) & 1)) - cutoff;
  return q * m + r;
}
