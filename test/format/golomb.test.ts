// Golomb coding of index gaps: round trips for any parameter, and clean -1 results on short or corrupt streams.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitReader, BitWriter, reverseBits } from '../../src/format/bits.js';
import { optimalGolombParameter, readGolomb, writeGolomb } from '../../src/format/golomb.js';

const encode = (values: readonly number[], m: number): Uint8Array => {
  const out = new BitWriter();
  for (const v of values) writeGolomb(out, v, m);
  return out.finish();
};

describe('Golomb coding', () => {
  it('round-trips any gaps with any parameter, across 24-bit windows and byte boundaries', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 24 }),
        fc.array(fc.nat({ max: 5000 }), { maxLength: 60 }),
        (m, gaps) => {
          const stream = new BitReader(encode(gaps, m));
          for (const gap of gaps) expect(readGolomb(stream, m, 1e9)).toBe(gap);
          expect(stream.remaining).toBeLessThan(8); // only the last byte's padding is left
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads long unary runs (quotients above 24) and small parameters', () => {
    for (const m of [1, 2, 3, 5]) {
      const gaps = [0, 1, 23, 24, 25, 47, 48, 200, 1000];
      const stream = new BitReader(encode(gaps, m));
      expect(gaps.map(() => readGolomb(stream, m, 1e9))).toEqual(gaps);
    }
  });

  it('returns -1, never throws, when the stream is cut short or the quotient exceeds its bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4096 }),
        fc.array(fc.nat({ max: 20000 }), { minLength: 1, maxLength: 20 }),
        fc.nat(),
        (m, gaps, cut) => {
          const bytes = encode(gaps, m);
          const short = bytes.subarray(0, cut % bytes.length);
          const stream = new BitReader(short);
          const read: number[] = [];
          for (let i = 0; i < gaps.length; i++) {
            const v = readGolomb(stream, m, 1e9);
            if (v < 0) break;
            read.push(v);
          }
          // Whatever was read before the cut is a prefix of the truth, except that zero padding
          // bits may decode as one more small gap.
          expect(read.slice(0, Math.max(0, read.length - 1))).toEqual(
            gaps.slice(0, Math.max(0, read.length - 1)),
          );
          expect(read.length).toBeLessThan(gaps.length + 1);
        },
      ),
      { numRuns: 300 },
    );
    // 100 one-bytes: a quotient of 800 against a bound of 50.
    expect(readGolomb(new BitReader(new Uint8Array(100).fill(0xff)), 4, 50)).toBe(-1);
  });

  it('reverses bits and reads raw bits like readBit', () => {
    expect(reverseBits(0b001, 3)).toBe(0b100);
    expect(reverseBits(0b1101, 4)).toBe(0b1011);
    expect(reverseBits(0xabcdef, 0)).toBe(0);
    expect(reverseBits(0x800000, 24)).toBe(1);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 24 }),
        (bytes, n) => {
          const a = new BitReader(bytes);
          const b = new BitReader(bytes);
          const want = a.readBits(n);
          if (n > bytes.length * 8) {
            expect(want).toBe(-1);
            return;
          }
          let got = 0;
          for (let i = 0; i < n; i++) got |= b.readBit() << i;
          expect(want).toBe(got >>> 0);
          expect(a.remaining).toBe(b.remaining);
        },
      ),
    );
  });

  it('chooses the parameter that fits geometric gaps', () => {
    expect(optimalGolombParameter(1)).toBe(1);
    // 90% sparsity: mean gap 10 → m = 7 (Gallager & van Voorhis).
    expect(optimalGolombParameter(10)).toBe(7);
  });
});
