// Hand-made containers for format tests: the fuzzer's framing helpers, plus small section builders.
export * from '../../scripts/fuzz/frame.js';
import type { CraftSection } from '../../scripts/fuzz/frame.js';

/** Little-endian bytes of u32 values. */
export const u32s = (...values: number[]): number[] =>
  values.flatMap((v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);

/** A dense fp32 vector section's payload. */
export function fp32Vector(values: readonly number[]): CraftSection {
  const payload = new Uint8Array(8 + 4 * values.length);
  const view = new DataView(payload.buffer);
  payload.set([0x01, 1, 0, 0]);
  view.setUint32(4, values.length, true);
  values.forEach((v, i) => view.setFloat32(8 + 4 * i, v, true));
  return { kind: 2, payload };
}
