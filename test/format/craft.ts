// Hand-made containers for format tests: split a file into its topology and sections, edit, and frame again.
import { crc32 } from '../../src/format/crc32.js';

export interface CraftSection {
  kind: number;
  payload: Uint8Array;
}

export type Topology = Record<string, unknown> & { nodes: Record<string, unknown>[] };

/** The topology JSON and the tensor sections (index 1 first) of a well-framed container. */
export function splitContainer(bytes: Uint8Array): {
  topology: Topology;
  sections: CraftSection[];
} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  const all: CraftSection[] = [];
  let at = 16;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(at + 4, true);
    all.push({ kind: view.getUint32(at, true), payload: bytes.slice(at + 8, at + 8 + length) });
    at = (at + 12 + length + 3) & ~3;
  }
  const topology = JSON.parse(new TextDecoder().decode(all[0]!.payload)) as Topology;
  return { topology, sections: all.slice(1) };
}

/** Frames a topology (an object, or JSON text as is) and tensor sections as a container (header, CRCs, zero padding). */
export function buildContainer(topology: unknown, sections: readonly CraftSection[]): Uint8Array {
  const json = typeof topology === 'string' ? topology : JSON.stringify(topology);
  const all = [{ kind: 1, payload: new TextEncoder().encode(json) }, ...sections];
  const size = all.reduce((n, s) => n + ((12 + s.payload.length + 3) & ~3), 16);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set([0x44, 0x50, 0x52, 0x4e]);
  view.setUint16(4, 1, true);
  view.setUint32(8, all.length, true);
  view.setUint32(12, crc32(out.subarray(0, 12)), true);
  let at = 16;
  for (const s of all) {
    view.setUint32(at, s.kind, true);
    view.setUint32(at + 4, s.payload.length, true);
    out.set(s.payload, at + 8);
    view.setUint32(at + 8 + s.payload.length, crc32(s.payload), true);
    at = (at + 12 + s.payload.length + 3) & ~3;
  }
  return out;
}

/** Offset of section `index`'s framing (0 is the topology). */
export function sectionOffset(bytes: Uint8Array, index: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  let at = 16;
  for (let i = 0; i < index; i++) at = (at + 12 + view.getUint32(at + 4, true) + 3) & ~3;
  return at;
}

/** Recomputes the header CRC and every section CRC that the framing still allows to find. */
export function fixChecksums(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 16) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(12, crc32(bytes.subarray(0, 12)), true);
  let at = 16;
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at + 4, true);
    if (at + 12 + length > bytes.length) break;
    view.setUint32(at + 8 + length, crc32(bytes.subarray(at + 8, at + 8 + length)), true);
    at = (at + 12 + length + 3) & ~3;
  }
  return bytes;
}

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
