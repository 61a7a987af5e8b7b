// Bad containers: each failure class has a named test, and a fuzzer checks that nothing else ever escapes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors.js';
import { crc32 } from '../../src/format/crc32.js';
import {
  BadMagicError,
  InvalidModelError,
  InvalidSizeError,
  SectionChecksumError,
  TruncatedFileError,
  UnsupportedVersionError,
  decodeModel,
  encodeModel,
} from '../../src/format/index.js';
import { sampleGraph } from './graphs.js';
import { fixChecksums, sectionOffset } from './craft.js';

const good = encodeModel(sampleGraph(11));
const small = encodeModel(sampleGraph(12), { values: 'fp16' });

/** Rewrites a u32 field and fixes the header CRC, so the test reaches the check it aims at. */
function patchHeader(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  view.setUint32(offset, value, true);
  view.setUint32(12, crc32(copy.subarray(0, 12)), true);
  return copy;
}

/** Rewrites bytes inside section `index`'s payload and recomputes its CRC. */
function patchSection(
  bytes: Uint8Array,
  index: number,
  edit: (payload: Uint8Array) => void,
): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  const at = sectionOffset(copy, index);
  const length = view.getUint32(at + 4, true);
  const payload = copy.subarray(at + 8, at + 8 + length);
  edit(payload);
  view.setUint32(at + 8 + length, crc32(payload), true);
  return copy;
}

describe('bad container files', () => {
  it('wrong magic', () => {
    const bytes = good.slice();
    bytes[0] = 0x50;
    expect(() => decodeModel(bytes, { name: 'm.dpr' })).toThrow(BadMagicError);
    expect(() => decodeModel(new TextEncoder().encode('{"not":"a model"}....'))).toThrow(
      BadMagicError,
    );
  });

  it('unknown version', () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint16(4, 7, true);
    expect(() => decodeModel(bytes)).toThrow(UnsupportedVersionError);
    expect(() => decodeModel(bytes)).toThrow(/version 7.*reads version 1/);
  });

  it('truncation at every byte of a small file', () => {
    for (let n = 0; n < small.length; n++) {
      expect(() => decodeModel(small.subarray(0, n)), `cut at ${n}`).toThrow(CorruptFileError);
    }
    expect(() => decodeModel(small.subarray(0, 10))).toThrow(TruncatedFileError);
    expect(() => decodeModel(small.subarray(0, small.length - 5))).toThrow(TruncatedFileError);
  });

  it('checksum mismatch in the header and in a section', () => {
    const header = good.slice();
    header[8] = header[8]! ^ 1;
    expect(() => decodeModel(header)).toThrow(SectionChecksumError);
    const section = good.slice();
    const at = sectionOffset(good, 2) + 20;
    section[at] = section[at]! ^ 0x10;
    expect(() => decodeModel(section)).toThrow(SectionChecksumError);
    expect(() => decodeModel(section)).toThrow(/section 2/);
  });

  it('size fields that disagree with the real length or ask for absurd allocations', () => {
    expect(() => decodeModel(patchHeader(good, 8, 0xffffffff))).toThrow(InvalidSizeError);
    expect(() => decodeModel(patchHeader(good, 8, 1))).toThrow(InvalidSizeError); // trailing sections unread
    // A CSR section claiming 2^31 rows: refused before any allocation.
    const huge = patchSection(good, 1, (p) =>
      new DataView(p.buffer, p.byteOffset).setUint32(0, 0x7fffffff, true),
    );
    expect(() => decodeModel(huge)).toThrow(InvalidSizeError);
    // nnz larger than the values the section holds.
    const many = patchSection(good, 1, (p) =>
      new DataView(p.buffer, p.byteOffset).setUint32(8, 27 * 8, true),
    );
    expect(() => decodeModel(many)).toThrow(CorruptFileError);
    // A section length beyond the end of the file.
    const long = good.slice();
    new DataView(long.buffer).setUint32(sectionOffset(good, 3) + 4, 1 << 30, true);
    expect(() => decodeModel(long)).toThrow(TruncatedFileError);
  });

  it('well-framed sections that describe an impossible model', () => {
    const json = JSON.parse(
      new TextDecoder().decode(
        good.subarray(24, 24 + new DataView(good.buffer).getUint32(20, true)),
      ),
    );
    const withTopology = (change: (t: Record<string, unknown>) => void): Uint8Array => {
      const t = structuredClone(json);
      change(t);
      const payload = new TextEncoder().encode(JSON.stringify(t));
      const rest = good.subarray(sectionOffset(good, 1));
      const out = new Uint8Array(16 + ((12 + payload.length + 3) & ~3) + rest.length);
      out.set(good.subarray(0, 16));
      const view = new DataView(out.buffer);
      view.setUint32(16, 1, true);
      view.setUint32(20, payload.length, true);
      out.set(payload, 24);
      view.setUint32(24 + payload.length, crc32(payload), true);
      out.set(rest, (24 + payload.length + 4 + 3) & ~3);
      return out;
    };
    expect(() =>
      decodeModel(withTopology((t) => ((t['nodes'] as { op: string }[])[3]!.op = 'gelu'))),
    ).toThrow(InvalidModelError);
    expect(() =>
      decodeModel(withTopology((t) => ((t['nodes'] as { input: string }[])[3]!.input = 'later'))),
    ).toThrow(/not an earlier node/);
    expect(() =>
      decodeModel(
        withTopology((t) => ((t['nodes'] as { inChannels: number }[])[5]!.inChannels = 4)),
      ),
    ).toThrow(InvalidModelError);
    expect(() =>
      decodeModel(withTopology((t) => ((t['nodes'] as { weight: number }[])[1]!.weight = 99))),
    ).toThrow(/does not exist/);
    expect(() =>
      decodeModel(withTopology((t) => ((t['nodes'] as { name: string }[])[2]!.name = 'conv1'))),
    ).toThrow(/duplicate/);
  });

  it('a fuzzer: mutated files decode or throw a typed error, never anything else', () => {
    const files = [
      good,
      small,
      encodeModel(sampleGraph(13), { values: 'int8', indices: 'narrow' }),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.boolean(),
        (which, edits, cut, recomputeChecksums) => {
          let bytes = files[which]!.slice();
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          if (cut !== undefined) bytes = bytes.subarray(0, cut % (bytes.length + 1));
          // Recompute checksums so mutations reach the structural checks behind them.
          if (recomputeChecksums) fixChecksums(bytes);
          try {
            decodeModel(bytes);
          } catch (error) {
            if (!(error instanceof CorruptFileError)) throw error;
          }
        },
      ),
      { numRuns: 2500, seed: 42 },
    );
  });
});
