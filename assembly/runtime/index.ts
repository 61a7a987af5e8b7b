// WebAssembly SIMD kernels of the standalone sparse runtime (src/runtime). Activations are channels-first
// per image ([C, H, W], planes of H·W floats); TypeScript plans every buffer and passes byte offsets.
//
// The module owns no data and never allocates: the runtime creates the memory, lays out weights and
// activations, and calls these functions with offsets and sizes it has checked.

/**
 * im2col for one image: cols[(ci·KH + kh)·KW + kw][p] = x[ci][oh·SH + kh − PT][ow·SW + kw − PL] (0 outside),
 * p = oh·OW + ow, each row padded with zeros to `stride` floats (a multiple of 16). The row order is the
 * container's column order, so CSR rows apply to it directly.
 */
export function im2col(
  x: usize, cols: usize, CI: i32, H: i32, W: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, stride: i32,
): void {
  const rowBytes = <usize>stride << 2;
  let row = cols;
  for (let ci = 0; ci < CI; ci++) {
    const plane = x + (<usize>(ci * H * W) << 2);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        zeroFloats(row, stride);
        let p = row;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * SH + kh - PT;
          if (ih < 0 || ih >= H) {
            p += <usize>OW << 2;
            continue;
          }
          const src = plane + (<usize>(ih * W) << 2);
          if (SW == 1) {
            // Contiguous run: the valid ow range is [owStart, owEnd).
            let owStart = max(0, PL - kw);
            let owEnd = min(OW, W + PL - kw);
            copyFloats(p + (<usize>owStart << 2), src + (<usize>(owStart + kw - PL) << 2), owEnd - owStart);
          } else {
            // The valid ow, with 0 <= ow·SW + kw − PL < W, are a contiguous range [owStart, owEnd).
            const owStart = min(OW, max(0, (PL - kw + SW - 1) / SW));
            const owEnd = min(OW, max(owStart, (W + PL - kw + SW - 1) / SW));
            const from = src + (<usize>(owStart * SW + kw - PL) << 2);
            copyStrided(p + (<usize>owStart << 2), from, owEnd - owStart, SW);
          }
          p += <usize>OW << 2;
        }
        row += rowBytes;
      }
    }
  }
}

/**
 * Sparse × dense: out[o][p] = act(Σ_k values[k] · cols[colIdx[k]][p] + bias[o]) for p < P, with the CSR
 * rows of W. `cols` rows are `stride` floats apart (a multiple of 16); `out` rows are `outStride` apart.
 * Pixels go 32 at a time in eight SIMD accumulators (16 in four at the end of a row) that stay in registers
 * across a whole row of W.
 * colIdx holds u32 column numbers; `relu` is 0 or 1.
 */
export function spmm(
  rowPtr: usize, colIdx: usize, values: usize, rows: i32,
  cols: usize, stride: i32, P: i32, bias: usize, hasBias: i32, relu: i32, out: usize, outStride: i32,
): void {
  if (P <= 4) {
    spmmNarrow(rowPtr, colIdx, values, rows, cols, stride, P, bias, hasBias, relu, out, outStride);
    return;
  }
  const rowBytes = <usize>stride << 2;
  const zero = f32x4.splat(0);
  for (let o = 0; o < rows; o++) {
    const start = load<u32>(rowPtr + (<usize>o << 2));
    const end = load<u32>(rowPtr + (<usize>(o + 1) << 2));
    const b = f32x4.splat(hasBias ? load<f32>(bias + (<usize>o << 2)) : 0);
    const dst = out + (<usize>(o * outStride) << 2);
    let p = 0;
    // 32 pixels at a time while the im2col rows (padded to `stride`) have them: each weight and column
    // index loaded serves eight vectors.
    for (; p < P && p + 32 <= stride; p += 32) {
      let a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
      const chunk = cols + (<usize>p << 2);
      for (let k = start; k < end; k++) {
        const w = f32x4.splat(load<f32>(values + (<usize>k << 2)));
        const src = chunk + <usize>load<u32>(colIdx + (<usize>k << 2)) * rowBytes;
        a0 = f32x4.add(a0, f32x4.mul(w, v128.load(src)));
        a1 = f32x4.add(a1, f32x4.mul(w, v128.load(src, 16)));
        a2 = f32x4.add(a2, f32x4.mul(w, v128.load(src, 32)));
        a3 = f32x4.add(a3, f32x4.mul(w, v128.load(src, 48)));
        a4 = f32x4.add(a4, f32x4.mul(w, v128.load(src, 64)));
        a5 = f32x4.add(a5, f32x4.mul(w, v128.load(src, 80)));
        a6 = f32x4.add(a6, f32x4.mul(w, v128.load(src, 96)));
        a7 = f32x4.add(a7, f32x4.mul(w, v128.load(src, 112)));
      }
      if (relu) {
        a0 = f32x4.pmax(a0, zero); a1 = f32x4.pmax(a1, zero); a2 = f32x4.pmax(a2, zero); a3 = f32x4.pmax(a3, zero);
        a4 = f32x4.pmax(a4, zero); a5 = f32x4.pmax(a5, zero); a6 = f32x4.pmax(a6, zero); a7 = f32x4.pmax(a7, zero);
      }
      storeChunk(dst + (<usize>p << 2), a0, a1, a2, a3, P - p);
      if (P - p > 16) storeChunk(dst + (<usize>(p + 16) << 2), a4, a5, a6, a7, P - p - 16);
    }
    for (; p < P; p += 16) {
      let a0 = b, a1 = b, a2 = b, a3 = b;
      const chunk = cols + (<usize>p << 2);
      for (let k = start; k < end; k++) {
        const w = f32x4.splat(load<f32>(values + (<usize>k << 2)));
        const src = chunk + <usize>load<u32>(colIdx + (<usize>k << 2)) * rowBytes;
        a0 = f32x4.add(a0, f32x4.mul(w, v128.load(src)));
        a1 = f32x4.add(a1, f32x4.mul(w, v128.load(src, 16)));
        a2 = f32x4.add(a2, f32x4.mul(w, v128.load(src, 32)));
        a3 = f32x4.add(a3, f32x4.mul(w, v128.load(src, 48)));
      }
      if (relu) {
        a0 = f32x4.pmax(a0, zero);
        a1 = f32x4.pmax(a1, zero);
        a2 = f32x4.pmax(a2, zero);
        a3 = f32x4.pmax(a3, zero);
      }
      storeChunk(dst + (<usize>p << 2), a0, a1, a2, a3, P - p);
    }
  }
}

/**
 * spmm for at most 4 pixels (or batch lanes): one SIMD accumulator per row instead of four, so a batch-1
 * fully connected layer does one multiply-add per nonzero, not sixteen. Two independent partial sums hide
 * the add latency.
 */
function spmmNarrow(
  rowPtr: usize, colIdx: usize, values: usize, rows: i32,
  cols: usize, stride: i32, P: i32, bias: usize, hasBias: i32, relu: i32, out: usize, outStride: i32,
): void {
  const rowBytes = <usize>stride << 2;
  const zero = f32x4.splat(0);
  for (let o = 0; o < rows; o++) {
    const start = load<u32>(rowPtr + (<usize>o << 2));
    const end = load<u32>(rowPtr + (<usize>(o + 1) << 2));
    let a = f32x4.splat(hasBias ? load<f32>(bias + (<usize>o << 2)) : 0);
    let c = zero;
    let k = start;
    for (; k + 1 < end; k += 2) {
      const w0 = f32x4.splat(load<f32>(values + (<usize>k << 2)));
      const w1 = f32x4.splat(load<f32>(values + (<usize>k << 2), 4));
      const i0 = <usize>load<u32>(colIdx + (<usize>k << 2));
      const i1 = <usize>load<u32>(colIdx + (<usize>k << 2), 4);
      a = f32x4.add(a, f32x4.mul(w0, v128.load(cols + i0 * rowBytes)));
      c = f32x4.add(c, f32x4.mul(w1, v128.load(cols + i1 * rowBytes)));
    }
    if (k < end) {
      const w = f32x4.splat(load<f32>(values + (<usize>k << 2)));
      a = f32x4.add(a, f32x4.mul(w, v128.load(cols + <usize>load<u32>(colIdx + (<usize>k << 2)) * rowBytes)));
    }
    a = f32x4.add(a, c);
    if (relu) a = f32x4.pmax(a, zero);
    storeChunk(out + (<usize>(o * outStride) << 2), a, zero, zero, zero, P);
  }
}

/**
 * Dense × dense: out[o][p] = act(Σ_k W[o][k] · cols[k][p] + bias[o] + residual[o][p]), W row-major [rows, K],
 * and the epilogue's second output (see `secondRow`). `residual` and `second` (rows `outStride` apart, like
 * `out`) are 0 when there is none. Two rows of W and 16 pixels per block (eight accumulators): each loaded
 * column vector serves both rows. The residual is read in whole vectors, up to 15 floats past its last row
 * (the runtime's slack).
 */
export function gemmEpilogue(
  w: usize, rows: i32, K: i32,
  cols: usize, stride: i32, P: i32, bias: usize, hasBias: i32, relu: i32, out: usize, outStride: i32,
  residual: usize, scale: usize, shift: usize, second: usize,
): void {
  if (P <= 4) gemmNarrow(w, rows, K, cols, stride, P, bias, hasBias, relu, out, outStride, residual, scale, shift, second);
  else gemmWide(w, rows, K, cols, stride, P, bias, hasBias, relu, out, outStride, residual, scale, shift, second);
}

/**
 * `gemmEpilogue` without an epilogue: the epilogue's code folds away (its offsets are constant zeros in the
 * inlined copy), so dense layers and plain convs run the kernel as it was.
 */
export function gemm(
  w: usize, rows: i32, K: i32,
  cols: usize, stride: i32, P: i32, bias: usize, hasBias: i32, relu: i32, out: usize, outStride: i32,
): void {
  if (P <= 4) gemmNarrow(w, rows, K, cols, stride, P, bias, hasBias, relu, out, outStride, 0, 0, 0, 0);
  else gemmWide(w, rows, K, cols, stride, P, bias, hasBias, relu, out, outStride, 0, 0, 0, 0);
}

/** `gemm` for more than 4 pixels; each pair of rows gets its second output while it is in L1. */
@inline
function gemmWide(
  w: usize, rows: i32, K: i32,
  cols: usize, stride: i32, P: i32, bias: usize, hasBias: i32, relu: i32, out: usize, outStride: i32,
  residual: usize, scale: usize, shift: usize, second: usize,
): void {
  const rowBytes = <usize>stride << 2;
  const zero = f32x4.splat(0);
  for (let o = 0; o < rows; o += 2) {
    const two = o + 1 < rows;
    const w0 = w + (<usize>(o * K) << 2);
    const w1 = two ? w0 + (<usize>K << 2) : w0;
    const b0 = f32x4.splat(hasBias ? load<f32>(bias + (<usize>o << 2)) : 0);
    const b1 = f32x4.splat(hasBias && two ? load<f32>(bias + (<usize>(o + 1) << 2)) : 0);
    for (let p = 0; p < P; p += 16) {
      let a0 = b0, a1 = b0, a2 = b0, a3 = b0;
      let c0 = b1, c1 = b1, c2 = b1, c3 = b1;
      let src = cols + (<usize>p << 2);
      for (let k = 0; k < K; k++) {
        const x0 = v128.load(src), x1 = v128.load(src, 16), x2 = v128.load(src, 32), x3 = v128.load(src, 48);
        const s = f32x4.splat(load<f32>(w0 + (<usize>k << 2)));
        const t = f32x4.splat(load<f32>(w1 + (<usize>k << 2)));
        a0 = f32x4.add(a0, f32x4.mul(s, x0));
        a1 = f32x4.add(a1, f32x4.mul(s, x1));
        a2 = f32x4.add(a2, f32x4.mul(s, x2));
        a3 = f32x4.add(a3, f32x4.mul(s, x3));
        c0 = f32x4.add(c0, f32x4.mul(t, x0));
        c1 = f32x4.add(c1, f32x4.mul(t, x1));
        c2 = f32x4.add(c2, f32x4.mul(t, x2));
        c3 = f32x4.add(c3, f32x4.mul(t, x3));
        src += rowBytes;
      }
      if (residual) {
        const r = residual + (<usize>(o * outStride + p) << 2);
        a0 = f32x4.add(a0, v128.load(r)); a1 = f32x4.add(a1, v128.load(r, 16));
        a2 = f32x4.add(a2, v128.load(r, 32)); a3 = f32x4.add(a3, v128.load(r, 48));
        const u = two ? r + (<usize>outStride << 2) : r;
        c0 = f32x4.add(c0, v128.load(u)); c1 = f32x4.add(c1, v128.load(u, 16));
        c2 = f32x4.add(c2, v128.load(u, 32)); c3 = f32x4.add(c3, v128.load(u, 48));
      }
      if (relu) {
        a0 = f32x4.pmax(a0, zero); a1 = f32x4.pmax(a1, zero); a2 = f32x4.pmax(a2, zero); a3 = f32x4.pmax(a3, zero);
        c0 = f32x4.pmax(c0, zero); c1 = f32x4.pmax(c1, zero); c2 = f32x4.pmax(c2, zero); c3 = f32x4.pmax(c3, zero);
      }
      storeChunk(out + (<usize>(o * outStride + p) << 2), a0, a1, a2, a3, P - p);
      if (two) storeChunk(out + (<usize>((o + 1) * outStride + p) << 2), c0, c1, c2, c3, P - p);
    }
    if (second) {
      secondRow(out, second, <usize>(o * outStride) << 2, scale, shift, o, P);
      if (two) secondRow(out, second, <usize>((o + 1) * outStride) << 2, scale, shift, o + 1, P);
    }
  }
}

/**
 * gemm for at most 4 pixels (or batch lanes): four rows of W at a time, one accumulator each, so every
 * loaded column vector serves four rows and no lanes beyond the fourth are computed.
 */
@inline
function gemmNarrow(
  w: usize, rows: i32, K: i32,
  cols: usize, stride: i32, P: i32, bias: usize, hasBias: i32, relu: i32, out: usize, outStride: i32,
  residual: usize, scale: usize, shift: usize, second: usize,
): void {
  const rowBytes = <usize>stride << 2;
  const kBytes = <usize>K << 2;
  const zero = f32x4.splat(0);
  for (let o = 0; o < rows; o += 4) {
    const n = min(4, rows - o);
    // Rows past the end repeat the last row's weights; their results are not stored.
    const w0 = w + <usize>o * kBytes;
    const w1 = n > 1 ? w0 + kBytes : w0;
    const w2 = n > 2 ? w0 + 2 * kBytes : w0;
    const w3 = n > 3 ? w0 + 3 * kBytes : w0;
    let a0 = f32x4.splat(hasBias ? load<f32>(bias + (<usize>o << 2)) : 0);
    let a1 = f32x4.splat(hasBias && n > 1 ? load<f32>(bias + (<usize>(o + 1) << 2)) : 0);
    let a2 = f32x4.splat(hasBias && n > 2 ? load<f32>(bias + (<usize>(o + 2) << 2)) : 0);
    let a3 = f32x4.splat(hasBias && n > 3 ? load<f32>(bias + (<usize>(o + 3) << 2)) : 0);
    let src = cols;
    for (let k = 0; k < K; k++) {
      const x = v128.load(src);
      const kb = <usize>k << 2;
      a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(w0 + kb)), x));
      a1 = f32x4.add(a1, f32x4.mul(f32x4.splat(load<f32>(w1 + kb)), x));
      a2 = f32x4.add(a2, f32x4.mul(f32x4.splat(load<f32>(w2 + kb)), x));
      a3 = f32x4.add(a3, f32x4.mul(f32x4.splat(load<f32>(w3 + kb)), x));
      src += rowBytes;
    }
    const rowOut = <usize>outStride << 2;
    if (residual) {
      // Rows past the end read row o's residual; their results are not stored.
      const r = residual + <usize>o * rowOut;
      a0 = f32x4.add(a0, v128.load(r));
      a1 = f32x4.add(a1, v128.load(n > 1 ? r + rowOut : r));
      a2 = f32x4.add(a2, v128.load(n > 2 ? r + 2 * rowOut : r));
      a3 = f32x4.add(a3, v128.load(n > 3 ? r + 3 * rowOut : r));
    }
    if (relu) {
      a0 = f32x4.pmax(a0, zero); a1 = f32x4.pmax(a1, zero); a2 = f32x4.pmax(a2, zero); a3 = f32x4.pmax(a3, zero);
    }
    const dst = out + (<usize>(o * outStride) << 2);
    storeChunk(dst, a0, zero, zero, zero, P);
    if (n > 1) storeChunk(dst + rowOut, a1, zero, zero, zero, P);
    if (n > 2) storeChunk(dst + 2 * rowOut, a2, zero, zero, zero, P);
    if (n > 3) storeChunk(dst + 3 * rowOut, a3, zero, zero, zero, P);
    if (second) {
      for (let i = 0; i < n; i++) secondRow(out, second, <usize>((o + i) * outStride) << 2, scale, shift, o + i, P);
    }
  }
}

/**
 * The epilogue's second output, for one row of channel c just stored (so it is read from L1): second = max(out ·
 * scale[c] + shift[c], 0), the BatchNorm + ReLU that the next layer's input needs (WRN's pre-activations),
 * computed as `channelAffine` does. `row` is the row's byte offset in both buffers. Whole vectors: up to 3
 * floats past n are read and written (the next row's place, or the runtime's slack).
 */
@inline
function secondRow(out: usize, second: usize, row: usize, scale: usize, shift: usize, c: i32, n: i32): void {
  const s = v128.load32_splat(scale + (<usize>c << 2));
  const t = v128.load32_splat(shift + (<usize>c << 2));
  const zero = f32x4.splat(0);
  const src = out + row;
  const dst = second + row;
  for (let i = 0; i < n; i += 4) {
    const at = <usize>i << 2;
    v128.store(dst + at, f32x4.pmax(f32x4.add(f32x4.mul(v128.load(src + at), s), t), zero));
  }
}

/** Stores up to 16 floats of four vectors (fewer at the end of a row). */
@inline
function storeChunk(q: usize, a0: v128, a1: v128, a2: v128, a3: v128, n: i32): void {
  if (n >= 16) {
    v128.store(q, a0);
    v128.store(q, a1, 16);
    v128.store(q, a2, 32);
    v128.store(q, a3, 48);
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = i < 4 ? a0 : i < 8 ? a1 : i < 12 ? a2 : a3;
    const lane = i & 3;
    const f = lane == 0 ? f32x4.extract_lane(v, 0) : lane == 1 ? f32x4.extract_lane(v, 1) : lane == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
    store<f32>(q + (<usize>i << 2), f);
  }
}

/**
 * Fully connected on a batch held feature-major (x[k][b], B images side by side, `stride` floats per
 * feature row): out[o][b] = act(Σ_k W[o][k] x[k][b] + bias[o]) with W in CSR. Used for dense layers,
 * where the batch is the SIMD axis (batch 1 uses one lane).
 */
export function spmmRows(
  rowPtr: usize, colIdx: usize, values: usize, rows: i32,
  x: usize, stride: i32, B: i32, bias: usize, hasBias: i32, relu: i32, out: usize,
): void {
  spmm(rowPtr, colIdx, values, rows, x, stride, B, bias, hasBias, relu, out, stride);
}

/** Max or average pooling of C planes [H, W] → [OH, OW]; average counts in-bounds positions only. */
export function pool(
  x: usize, out: usize, C: i32, H: i32, W: i32, OH: i32, OW: i32,
  PH: i32, PW: i32, SH: i32, SW: i32, PT: i32, PL: i32, isMax: i32,
): void {
  if (isMax && PH == 2 && PW == 2 && SH == 2 && SW == 2 && PT == 0 && PL == 0 && 2 * OH <= H && 2 * OW <= W) {
    maxPool2x2(x, out, C, H, W, OH, OW);
    return;
  }
  for (let c = 0; c < C; c++) {
    const plane = x + (<usize>(c * H * W) << 2);
    const dst = out + (<usize>(c * OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const h0 = max(0, oh * SH - PT), h1 = min(H, oh * SH - PT + PH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = max(0, ow * SW - PL), w1 = min(W, ow * SW - PL + PW);
        let acc: f32 = isMax ? -Infinity : 0;
        for (let h = h0; h < h1; h++) {
          for (let w = w0; w < w1; w++) {
            const v = load<f32>(plane + (<usize>(h * W + w) << 2));
            acc = isMax ? (v > acc ? v : acc) : acc + v;
          }
        }
        if (!isMax) acc /= <f32>((h1 - h0) * (w1 - w0));
        store<f32>(dst + (<usize>(oh * OW + ow) << 2), acc);
      }
    }
  }
}

/**
 * 2×2 max pooling with stride 2 whose windows all lie inside the input (valid padding, or same padding
 * on even sizes): four outputs per step from two vectors of each input row, de-interleaved by shuffles.
 * The caller guarantees 2·OH ≤ H and 2·OW ≤ W, so every read stays inside the plane.
 */
function maxPool2x2(x: usize, out: usize, C: i32, H: i32, W: i32, OH: i32, OW: i32): void {
  for (let c = 0; c < C; c++) {
    const plane = x + (<usize>(c * H * W) << 2);
    const dst = out + (<usize>(c * OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const r0 = plane + (<usize>(2 * oh * W) << 2);
      const r1 = r0 + (<usize>W << 2);
      const d = dst + (<usize>(oh * OW) << 2);
      let ow = 0;
      for (; ow + 4 <= OW; ow += 4) {
        const at = <usize>(2 * ow) << 2;
        const lo = f32x4.max(v128.load(r0 + at), v128.load(r1 + at));
        const hi = f32x4.max(v128.load(r0 + at, 16), v128.load(r1 + at, 16));
        const even = v128.shuffle<f32>(lo, hi, 0, 2, 4, 6);
        const odd = v128.shuffle<f32>(lo, hi, 1, 3, 5, 7);
        v128.store(d + (<usize>ow << 2), f32x4.max(even, odd));
      }
      for (; ow < OW; ow++) {
        const at = <usize>(2 * ow) << 2;
        const m0 = max(load<f32>(r0 + at), load<f32>(r0 + at, 4));
        const m1 = max(load<f32>(r1 + at), load<f32>(r1 + at, 4));
        store<f32>(d + (<usize>ow << 2), max(m0, m1));
      }
    }
  }
}

/** y[c][i] = act(x[c][i] · scale[c] + shift[c]) over C planes of `size` floats (inference BatchNorm). */
export function channelAffine(x: usize, out: usize, C: i32, size: i32, scale: usize, shift: usize, relu: i32): void {
  const zero = f32x4.splat(0);
  for (let c = 0; c < C; c++) {
    const s = f32x4.splat(load<f32>(scale + (<usize>c << 2)));
    const t = f32x4.splat(load<f32>(shift + (<usize>c << 2)));
    const src = x + (<usize>(c * size) << 2);
    const dst = out + (<usize>(c * size) << 2);
    let i = 0;
    for (; i + 4 <= size; i += 4) {
      let v = f32x4.add(f32x4.mul(v128.load(src + (<usize>i << 2)), s), t);
      if (relu) v = f32x4.pmax(v, zero);
      v128.store(dst + (<usize>i << 2), v);
    }
    for (; i < size; i++) {
      let v = load<f32>(src + (<usize>i << 2)) * f32x4.extract_lane(s, 0) + f32x4.extract_lane(t, 0);
      if (relu && v < 0) v = 0;
      store<f32>(dst + (<usize>i << 2), v);
    }
  }
}

/** out[i] = a[i] + b[i] (then ReLU if asked), n floats. */
export function addArrays(a: usize, b: usize, out: usize, n: i32, relu: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let v = f32x4.add(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2)));
    if (relu) v = f32x4.pmax(v, zero);
    v128.store(out + (<usize>i << 2), v);
  }
  for (; i < n; i++) {
    let v = load<f32>(a + (<usize>i << 2)) + load<f32>(b + (<usize>i << 2));
    if (relu && v < 0) v = 0;
    store<f32>(out + (<usize>i << 2), v);
  }
}

/** out[i] = max(x[i], 0) for n floats (x and out may be the same buffer). */
export function reluArrays(x: usize, out: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), f32x4.pmax(v128.load(x + (<usize>i << 2)), zero));
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), v < 0 ? 0 : v);
  }
}

/**
 * Copies C planes [H, W] into zero-padded planes `plane` floats apart whose rows are WP floats: input row h
 * of channel c starts at float c·plane + first + h·WP. The padding is zeroed once by the runtime and never
 * written, so only the input rows are copied.
 */
export function padInterior(x: usize, out: usize, C: i32, H: i32, W: i32, first: i32, WP: i32, plane: i32): void {
  const rowBytes = <usize>W << 2;
  for (let c = 0; c < C; c++) {
    let src = x + (<usize>(c * H * W) << 2);
    let dst = out + (<usize>(c * plane + first) << 2);
    for (let h = 0; h < H; h++) {
      copyFloats(dst, src, W);
      src += rowBytes;
      dst += <usize>WP << 2;
    }
  }
}

/**
 * Direct sparse convolution: out[o][p] = act(Σ_k values[k] · x[p + offsets[k]] + bias[o] + residual[o][p])
 * for p < P, where offsets[k] (bytes) is where nonzero k's input window starts (the planner lays the input
 * out so that every nonzero reads a plane shifted by a constant). No im2col: each weight reads its input in
 * place. `residual` and the epilogue's `second` output (`secondRow`; rows `outStride` apart, like `out`) are
 * 0 when there is none.
 *
 * Pixels go 28 at a time in seven SIMD accumulators, then the rest in a block of 7, 4 or 2 vectors. Seven,
 * not eight: V8 loads all of a weight's input vectors before it multiplies, and it has 15 vector registers
 * to give (xmm15 is its scratch), so 7 accumulators + 7 loaded vectors + the weight fit, while eight
 * accumulators spill one to the stack on every nonzero, which put a store-to-load round trip on its add
 * chain and ran 1.5-1.8x slower.
 *
 * The last block of a row stores whole vectors: up to 24 floats past P. Rows are computed in order, so
 * what spills into row o + 1 is overwritten by it; the runtime leaves that slack after each output, and
 * the reads of the last block (input and residual) may run as far past their buffers (into memory that is
 * never stored).
 */
export function sparseConvDirectEpilogue(
  rowPtr: usize, offsets: usize, values: usize, rows: i32,
  x: usize, P: i32, bias: usize, relu: i32, out: usize, outStride: i32,
  residual: usize, scale: usize, shift: usize, second: usize,
): void {
  directRows(rowPtr, offsets, values, rows, x, P, bias, relu, out, outStride, residual, scale, shift, second);
}

/**
 * `sparseConvDirectEpilogue` without an epilogue: inlined with constant zeros, its epilogue's code folds away
 * and the block loops run as they did before epilogues existed (a live residual pointer cost the 3-input-channel
 * conv1 of paper-cnn-wide 12%, whose rows have about three nonzeros).
 */
export function sparseConvDirect(
  rowPtr: usize, offsets: usize, values: usize, rows: i32,
  x: usize, P: i32, bias: usize, relu: i32, out: usize, outStride: i32,
): void {
  directRows(rowPtr, offsets, values, rows, x, P, bias, relu, out, outStride, 0, 0, 0, 0);
}

/** The rows of `sparseConvDirectEpilogue`. */
@inline
function directRows(
  rowPtr: usize, offsets: usize, values: usize, rows: i32,
  x: usize, P: i32, bias: usize, relu: i32, out: usize, outStride: i32,
  residual: usize, scale: usize, shift: usize, second: usize,
): void {
  for (let o = 0; o < rows; o++) {
    const start = <usize>load<u32>(rowPtr + (<usize>o << 2)) << 2;
    const end = <usize>load<u32>(rowPtr + (<usize>(o + 1) << 2)) << 2;
    const b = v128.load32_splat(bias + (<usize>o << 2));
    const row = <usize>(o * outStride) << 2;
    const dst = out + row;
    const res = residual ? residual + row : 0;
    let p = 0;
    for (; p + 28 <= P; p += 28) {
      const at = <usize>p << 2;
      block7(values + start, values + end, offsets + start, x + at, b, relu, res ? res + at : 0, dst + at);
    }
    const rest = P - p;
    const at = <usize>p << 2;
    const r = res ? res + at : 0;
    if (rest > 16) block7(values + start, values + end, offsets + start, x + at, b, relu, r, dst + at);
    else if (rest > 8) block4(values + start, values + end, offsets + start, x + at, b, relu, r, dst + at);
    else if (rest > 0) block2(values + start, values + end, offsets + start, x + at, b, relu, r, dst + at);
    if (second) secondRow(out, second, row, scale, shift, o, P);
  }
}

/**
 * One output row's block of 7 vectors: the nonzeros from `vp` to `vend` (values; `op` walks their byte
 * offsets beside them) applied to the input at `chunk`, plus the bias `b` and the residual at `res` (if not
 * 0), ReLU if asked, stored at `q`.
 */
@inline
function block7(vp: usize, vend: usize, op: usize, chunk: usize, b: v128, relu: i32, res: usize, q: usize): void {
  let a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b;
  while (vp < vend) {
    const w = v128.load32_splat(vp);
    const src = chunk + <usize>load<u32>(op);
    a0 = f32x4.add(a0, f32x4.mul(w, v128.load(src)));
    a1 = f32x4.add(a1, f32x4.mul(w, v128.load(src, 16)));
    a2 = f32x4.add(a2, f32x4.mul(w, v128.load(src, 32)));
    a3 = f32x4.add(a3, f32x4.mul(w, v128.load(src, 48)));
    a4 = f32x4.add(a4, f32x4.mul(w, v128.load(src, 64)));
    a5 = f32x4.add(a5, f32x4.mul(w, v128.load(src, 80)));
    a6 = f32x4.add(a6, f32x4.mul(w, v128.load(src, 96)));
    vp += 4;
    op += 4;
  }
  if (res) {
    a0 = f32x4.add(a0, v128.load(res)); a1 = f32x4.add(a1, v128.load(res, 16));
    a2 = f32x4.add(a2, v128.load(res, 32)); a3 = f32x4.add(a3, v128.load(res, 48));
    a4 = f32x4.add(a4, v128.load(res, 64)); a5 = f32x4.add(a5, v128.load(res, 80));
    a6 = f32x4.add(a6, v128.load(res, 96));
  }
  if (relu) {
    // pmax(a, 0) is one maxps (and keeps NaN, as the reference does); f32x4.max costs V8 eight instructions.
    const zero = f32x4.splat(0);
    a0 = f32x4.pmax(a0, zero); a1 = f32x4.pmax(a1, zero); a2 = f32x4.pmax(a2, zero); a3 = f32x4.pmax(a3, zero);
    a4 = f32x4.pmax(a4, zero); a5 = f32x4.pmax(a5, zero); a6 = f32x4.pmax(a6, zero);
  }
  v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
  v128.store(q, a4, 64); v128.store(q, a5, 80); v128.store(q, a6, 96);
}

/**
 * `block7` for 4 vectors (16 pixels). With fewer vectors per nonzero the loop is bound by the latency of
 * each accumulator's add, not by throughput, so two nonzeros go per iteration and their products are
 * summed before they meet the accumulator (4 accumulators + 8 loaded vectors + 2 weights: no spill).
 */
@inline
function block4(vp: usize, vend: usize, op: usize, chunk: usize, b: v128, relu: i32, res: usize, q: usize): void {
  let a0 = b, a1 = b, a2 = b, a3 = b;
  for (; vp + 4 < vend; vp += 8, op += 8) {
    const w = v128.load32_splat(vp);
    const u = v128.load32_splat(vp, 4);
    const s = chunk + <usize>load<u32>(op);
    const t = chunk + <usize>load<u32>(op, 4);
    a0 = f32x4.add(a0, f32x4.add(f32x4.mul(w, v128.load(s)), f32x4.mul(u, v128.load(t))));
    a1 = f32x4.add(a1, f32x4.add(f32x4.mul(w, v128.load(s, 16)), f32x4.mul(u, v128.load(t, 16))));
    a2 = f32x4.add(a2, f32x4.add(f32x4.mul(w, v128.load(s, 32)), f32x4.mul(u, v128.load(t, 32))));
    a3 = f32x4.add(a3, f32x4.add(f32x4.mul(w, v128.load(s, 48)), f32x4.mul(u, v128.load(t, 48))));
  }
  if (vp < vend) {
    const w = v128.load32_splat(vp);
    const s = chunk + <usize>load<u32>(op);
    a0 = f32x4.add(a0, f32x4.mul(w, v128.load(s)));
    a1 = f32x4.add(a1, f32x4.mul(w, v128.load(s, 16)));
    a2 = f32x4.add(a2, f32x4.mul(w, v128.load(s, 32)));
    a3 = f32x4.add(a3, f32x4.mul(w, v128.load(s, 48)));
  }
  if (res) {
    a0 = f32x4.add(a0, v128.load(res)); a1 = f32x4.add(a1, v128.load(res, 16));
    a2 = f32x4.add(a2, v128.load(res, 32)); a3 = f32x4.add(a3, v128.load(res, 48));
  }
  if (relu) {
    const zero = f32x4.splat(0);
    a0 = f32x4.pmax(a0, zero); a1 = f32x4.pmax(a1, zero); a2 = f32x4.pmax(a2, zero); a3 = f32x4.pmax(a3, zero);
  }
  v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
}

/** `block4` for 2 vectors (8 pixels), four nonzeros per iteration. */
@inline
function block2(vp: usize, vend: usize, op: usize, chunk: usize, b: v128, relu: i32, res: usize, q: usize): void {
  let a0 = b, a1 = b;
  for (; vp + 12 < vend; vp += 16, op += 16) {
    const w0 = v128.load32_splat(vp), w1 = v128.load32_splat(vp, 4);
    const w2 = v128.load32_splat(vp, 8), w3 = v128.load32_splat(vp, 12);
    const s0 = chunk + <usize>load<u32>(op), s1 = chunk + <usize>load<u32>(op, 4);
    const s2 = chunk + <usize>load<u32>(op, 8), s3 = chunk + <usize>load<u32>(op, 12);
    const p0 = f32x4.add(f32x4.mul(w0, v128.load(s0)), f32x4.mul(w1, v128.load(s1)));
    const p1 = f32x4.add(f32x4.mul(w2, v128.load(s2)), f32x4.mul(w3, v128.load(s3)));
    const q0 = f32x4.add(f32x4.mul(w0, v128.load(s0, 16)), f32x4.mul(w1, v128.load(s1, 16)));
    const q1 = f32x4.add(f32x4.mul(w2, v128.load(s2, 16)), f32x4.mul(w3, v128.load(s3, 16)));
    a0 = f32x4.add(a0, f32x4.add(p0, p1));
    a1 = f32x4.add(a1, f32x4.add(q0, q1));
  }
  for (; vp < vend; vp += 4, op += 4) {
    const w = v128.load32_splat(vp);
    const s = chunk + <usize>load<u32>(op);
    a0 = f32x4.add(a0, f32x4.mul(w, v128.load(s)));
    a1 = f32x4.add(a1, f32x4.mul(w, v128.load(s, 16)));
  }
  if (res) {
    a0 = f32x4.add(a0, v128.load(res));
    a1 = f32x4.add(a1, v128.load(res, 16));
  }
  if (relu) {
    const zero = f32x4.splat(0);
    a0 = f32x4.pmax(a0, zero); a1 = f32x4.pmax(a1, zero);
  }
  v128.store(q, a0); v128.store(q, a1, 16);
}

/** Keeps the first `OW` floats of each of `R` rows of `WP` floats: [R, WP] → [R, OW] (OW ≤ WP). */
export function compactRows(x: usize, out: usize, R: i32, WP: i32, OW: i32): void {
  const rowBytes = <usize>OW << 2;
  let src = x;
  let dst = out;
  for (let r = 0; r < R; r++) {
    copyFloats(dst, src, OW);
    src += <usize>WP << 2;
    dst += rowBytes;
  }
}

/**
 * `compactRows` for a conv's C·OH output rows ([C, OH, WP] → [C, OH, OW]) that runs its epilogue: adds
 * `residual` ([C, OH, OW]) on the way and writes the `second` output (`secondRow`) per channel; each is 0
 * when there is none.
 */
export function compactRowsEpilogue(
  x: usize, out: usize, C: i32, OH: i32, WP: i32, OW: i32,
  residual: usize, scale: usize, shift: usize, second: usize,
): void {
  const rowBytes = <usize>OW << 2;
  let src = x;
  let at: usize = 0;
  for (let c = 0; c < C; c++) {
    for (let h = 0; h < OH; h++) {
      if (residual) addFloats(out + at, src, residual + at, OW);
      else copyFloats(out + at, src, OW);
      if (second) secondRow(out, second, at, scale, shift, c, OW);
      src += <usize>WP << 2;
      at += rowBytes;
    }
  }
}

/**
 * Splits C planes [H, W] into SH·SW zero-padded phase planes, so that a stride-S convolution becomes a
 * stride-1 one over each phase: phase (a, b) holds padded rows a, a + SH, ... and columns b, b + SW, ...:
 * out[(a·SW + b)·C + c][r][j] = x[c][r·SH + a − PT][j·SW + b − PL] (0 outside), r < HQ, j < WQ.
 */
export function gatherPhases(
  x: usize, out: usize, C: i32, H: i32, W: i32, PT: i32, PL: i32, SH: i32, SW: i32, HQ: i32, WQ: i32,
): void {
  const rowBytes = <usize>WQ << 2;
  let dst = out;
  for (let a = 0; a < SH; a++) {
    for (let b = 0; b < SW; b++) {
      // The valid columns j, with 0 <= j·SW + b − PL < W, are a contiguous range [j0, j1).
      const j0 = min(WQ, max(0, (PL - b + SW - 1) / SW));
      const j1 = min(WQ, max(j0, (W + PL - b + SW - 1) / SW));
      for (let c = 0; c < C; c++) {
        const plane = x + (<usize>(c * H * W) << 2);
        for (let r = 0; r < HQ; r++) {
          const ih = r * SH + a - PT;
          if (ih < 0 || ih >= H) {
            memory.fill(dst, 0, rowBytes);
            dst += rowBytes;
            continue;
          }
          const row = plane + (<usize>(ih * W + b - PL) << 2);
          for (let j = 0; j < j0; j++) store<f32>(dst + (<usize>j << 2), 0);
          copyStrided(dst + (<usize>j0 << 2), row + (<usize>(j0 * SW) << 2), j1 - j0, SW);
          for (let j = j1; j < WQ; j++) store<f32>(dst + (<usize>j << 2), 0);
          dst += rowBytes;
        }
      }
    }
  }
}

/**
 * Lays C planes [H, W] out for a direct conv whose output rows need no cropping: for each row phase
 * a < AH and column shift kx < KW, plane (a, kx, c) of HQ rows by OW columns holds
 * x[c][r·SH + a − PT][ow·SW + kx − PL] (0 outside the input), for r < HQ and ow < OW. A nonzero
 * (c, ky, kx) then reads plane (ky mod SH, kx, c) from row ky / SH on: one constant shift over all OH·OW
 * output pixels. KW copies of the input instead of one padded copy, but no wasted columns. Only the
 * cells that come from the input are written: the runtime zeroes the rest once.
 */
export function gatherShifted(
  x: usize, out: usize, C: i32, H: i32, W: i32, PT: i32, PL: i32, SH: i32, SW: i32,
  AH: i32, KW: i32, HQ: i32, OW: i32,
): void {
  if (SH == 1 && SW == 1 && OW == W && PT >= 0 && HQ >= H + PT) {
    shiftedPlanes(x, out, C, H, W, PT, PL, KW, HQ);
    return;
  }
  if (SH == 2 && SW == 2 && KW == 3 && (PL == 0 || PL == 1) && 2 * OW >= W && OW > 1) {
    shiftedPlanesStride2(x, out, C, H, W, PT, PL, AH, HQ, OW);
    return;
  }
  const rowBytes = <usize>OW << 2;
  let dst = out;
  for (let a = 0; a < AH; a++) {
    // The rows r with 0 <= r·SH + a − PT < H are a contiguous range [r0, r1).
    const r0 = min(HQ, max(0, (PT - a + SH - 1) / SH));
    const r1 = min(HQ, max(r0, (H + PT - a + SH - 1) / SH));
    for (let kx = 0; kx < KW; kx++) {
      // Likewise the columns: [j0, j1).
      const j0 = min(OW, max(0, (PL - kx + SW - 1) / SW));
      const j1 = min(OW, max(j0, (W + PL - kx + SW - 1) / SW));
      for (let c = 0; c < C; c++) {
        const plane = x + (<usize>(c * H * W) << 2);
        for (let r = r0; r < r1; r++) {
          const row = plane + (<usize>((r * SH + a - PT) * W + kx - PL) << 2);
          const d = dst + <usize>r * rowBytes;
          copyStrided(d + (<usize>j0 << 2), row + (<usize>(j0 * SW) << 2), j1 - j0, SW);
        }
        dst += <usize>HQ * rowBytes;
      }
    }
  }
}

/**
 * `gatherShifted` at stride 1 with output rows as wide as input rows: plane (kx, c) is the input plane moved
 * by kx − PL floats, so it is one contiguous copy of H·W floats (instead of H row copies, whose per-row cost
 * made the layout lose on small planes), after which the columns that came from outside each row (the
 * neighbouring row's floats, or for the first and last plane up to KW floats outside the input, which every
 * buffer's neighbours and slack cover) are set to zero.
 */
function shiftedPlanes(x: usize, out: usize, C: i32, H: i32, W: i32, PT: i32, PL: i32, KW: i32, HQ: i32): void {
  const planeBytes = <usize>(HQ * W) << 2;
  const rowBytes = <usize>W << 2;
  let dst = out + <usize>PT * rowBytes;
  for (let kx = 0; kx < KW; kx++) {
    const shift = kx - PL;
    // Valid columns: 0 <= j + shift < W.
    const j0 = min(W, max(0, -shift));
    const j1 = max(j0, min(W, W - shift));
    for (let c = 0; c < C; c++) {
      copyFloats(dst, x + <usize>(c * H * W + shift) * 4, H * W);
      let row = dst;
      for (let r = 0; r < H; r++) {
        for (let j = 0; j < j0; j++) store<f32>(row + (<usize>j << 2), 0);
        for (let j = j1; j < W; j++) store<f32>(row + (<usize>j << 2), 0);
        row += rowBytes;
      }
      dst += planeBytes;
    }
  }
}

/**
 * `gatherShifted` for 3-wide kernels at stride 2 (WRN's strided convs). Column shift kx − PL = s reads input
 * columns 2j + s: for s = 0 and 1 those are a row's even and odd floats, which one pass of loads and two
 * shuffles writes into both planes at once; the third plane (s = 2, or s = −1 when PL = 1) is the even (odd)
 * plane moved by one column, one contiguous copy per plane with its edge column zeroed after (instead of 3·H
 * strided row copies). Cells outside the input are never written (zeroed once by the runtime).
 */
function shiftedPlanesStride2(
  x: usize, out: usize, C: i32, H: i32, W: i32, PT: i32, PL: i32, AH: i32, HQ: i32, OW: i32,
): void {
  const planeBytes = <usize>(HQ * OW) << 2;
  const rowBytes = <usize>OW << 2;
  const nEven = min(OW, (W + 1) >> 1); // columns j with 2j < W
  const nOdd = min(OW, W >> 1); // 2j + 1 < W
  const pairs = min(nEven, nOdd) & ~3; // columns done four at a time, both parities
  const otherKx = PL == 0 ? 2 : 0;
  for (let a = 0; a < AH; a++) {
    // The rows r with 0 <= 2r + a − PT < H are a contiguous range [r0, r1).
    const r0 = min(HQ, max(0, (PT - a + 1) / 2));
    const r1 = min(HQ, max(r0, (H + PT - a + 1) / 2));
    for (let c = 0; c < C; c++) {
      const even = out + <usize>((a * 3 + PL) * C + c) * planeBytes;
      const odd = out + <usize>((a * 3 + PL + 1) * C + c) * planeBytes;
      for (let r = r0; r < r1; r++) {
        const src = x + (<usize>((c * H + 2 * r + a - PT) * W) << 2);
        const e = even + <usize>r * rowBytes;
        const o = odd + <usize>r * rowBytes;
        let j = 0;
        for (; j < pairs; j += 4) {
          const lo = v128.load(src + (<usize>j << 3));
          const hi = v128.load(src + (<usize>j << 3), 16);
          v128.store(e + (<usize>j << 2), v128.shuffle<f32>(lo, hi, 0, 2, 4, 6));
          v128.store(o + (<usize>j << 2), v128.shuffle<f32>(lo, hi, 1, 3, 5, 7));
        }
        for (let i = j; i < nEven; i++) store<f32>(e + (<usize>i << 2), load<f32>(src + (<usize>i << 3)));
        for (let i = j; i < nOdd; i++) store<f32>(o + (<usize>i << 2), load<f32>(src + (<usize>i << 3), 4));
      }
      if (r1 <= r0) continue;
      // PL = 0: column shift 2 reads even[j + 1], valid for j < nEven − 1. PL = 1: shift −1 reads odd[j − 1],
      // valid for 1 <= j < nOdd + 1.
      const other = out + <usize>((a * 3 + otherKx) * C + c) * planeBytes + <usize>r0 * rowBytes;
      const from = PL == 0 ? even + <usize>r0 * rowBytes + 4 : odd + <usize>r0 * rowBytes - 4;
      copyFloats(other, from, (r1 - r0) * OW);
      const j0 = PL == 0 ? 0 : 1;
      const j1 = PL == 0 ? nEven - 1 : min(OW, nOdd + 1);
      let row = other;
      for (let r = r0; r < r1; r++) {
        for (let j = 0; j < j0; j++) store<f32>(row + (<usize>j << 2), 0);
        for (let j = j1; j < OW; j++) store<f32>(row + (<usize>j << 2), 0);
        row += rowBytes;
      }
    }
  }
}

/**
 * Copies n floats. Short rows are the common case here, where memory.copy's call into the engine costs
 * more than the copy; the last vector overlaps the one before rather than run past the row.
 */
@inline
function copyFloats(dst: usize, src: usize, n: i32): void {
  if (n < 4) {
    for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  if (i < n) v128.store(dst + (<usize>(n - 4) << 2), v128.load(src + (<usize>(n - 4) << 2)));
}

/**
 * dst[i] = a[i] + b[i] for n floats, like `copyFloats`: the last vector overlaps the one before (dst must not
 * overlap a or b).
 */
@inline
function addFloats(dst: usize, a: usize, b: usize, n: i32): void {
  if (n < 4) {
    for (let i = 0; i < n; i++) {
      const at = <usize>i << 2;
      store<f32>(dst + at, load<f32>(a + at) + load<f32>(b + at));
    }
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(dst + at, f32x4.add(v128.load(a + at), v128.load(b + at)));
  }
  if (i < n) {
    const at = <usize>(n - 4) << 2;
    v128.store(dst + at, f32x4.add(v128.load(a + at), v128.load(b + at)));
  }
}

/** Zeroes n floats, n a multiple of 4 (im2col rows are padded to 16). */
@inline
function zeroFloats(dst: usize, n: i32): void {
  const zero = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) v128.store(dst + (<usize>i << 2), zero);
}

/**
 * Copies n floats taken every S-th from `src` (src[i·S] → dst[i]). Stride 2, the strided convs' case,
 * goes four at a time: two vectors de-interleaved by one shuffle. Its loads read src[2n − 1], one float
 * past the last one used, which every buffer's slack covers.
 */
@inline
function copyStrided(dst: usize, src: usize, n: i32, S: i32): void {
  if (S == 1) {
    copyFloats(dst, src, n);
    return;
  }
  let i = 0;
  if (S == 2) {
    for (; i + 4 <= n; i += 4) {
      const at = src + (<usize>i << 3);
      v128.store(dst + (<usize>i << 2), v128.shuffle<f32>(v128.load(at), v128.load(at, 16), 0, 2, 4, 6));
    }
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>(i * S) << 2)));
}

/**
 * Sparse matrix × one vector (a fully connected layer at batch 1): out[o·outStride] = act(Σ_k values[k] ·
 * x[colIdx[k]·stride] + bias[o]). Four nonzeros' inputs are gathered into one vector and multiplied by
 * their four values at once, so each SIMD multiply-add does four useful products instead of one (the
 * lane-per-image kernels use one lane of four at batch 1); two accumulators hide the add latency.
 */
export function spmv(
  rowPtr: usize, colIdx: usize, values: usize, rows: i32,
  x: usize, stride: i32, bias: usize, relu: i32, out: usize, outStride: i32,
): void {
  const rowBytes = <usize>stride << 2;
  for (let o = 0; o < rows; o++) {
    let k = <usize>load<u32>(rowPtr + (<usize>o << 2)) << 2;
    const end = <usize>load<u32>(rowPtr + (<usize>(o + 1) << 2)) << 2;
    let a = f32x4.splat(0);
    let c = f32x4.splat(0);
    for (; k + 28 < end; k += 32) {
      const i = colIdx + k;
      let g = v128.load32_zero(x + <usize>load<u32>(i) * rowBytes);
      g = v128.load32_lane(x + <usize>load<u32>(i, 4) * rowBytes, g, 1);
      g = v128.load32_lane(x + <usize>load<u32>(i, 8) * rowBytes, g, 2);
      g = v128.load32_lane(x + <usize>load<u32>(i, 12) * rowBytes, g, 3);
      let h = v128.load32_zero(x + <usize>load<u32>(i, 16) * rowBytes);
      h = v128.load32_lane(x + <usize>load<u32>(i, 20) * rowBytes, h, 1);
      h = v128.load32_lane(x + <usize>load<u32>(i, 24) * rowBytes, h, 2);
      h = v128.load32_lane(x + <usize>load<u32>(i, 28) * rowBytes, h, 3);
      a = f32x4.add(a, f32x4.mul(g, v128.load(values + k)));
      c = f32x4.add(c, f32x4.mul(h, v128.load(values + k, 16)));
    }
    a = f32x4.add(a, c);
    let sum = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
    for (; k < end; k += 4) sum += load<f32>(values + k) * load<f32>(x + <usize>load<u32>(colIdx + k) * rowBytes);
    sum += load<f32>(bias + (<usize>o << 2));
    if (relu && sum < 0) sum = 0;
    store<f32>(out + <usize>o * (<usize>outStride << 2), sum);
  }
}

/**
 * The features of one image from its C planes of `plane` floats, written into lane 0 of feature rows
 * `stride` floats apart (the caller offsets `out` to the image's lane): channel means (global average
 * pooling) when `mean` is 1, else every value in NHWC order (flatten: feature (p·C + c) = x[c][p]).
 */
export function toFeatureLane(x: usize, C: i32, plane: i32, mean: i32, out: usize, stride: i32): void {
  const rowBytes = <usize>stride << 2;
  for (let c = 0; c < C; c++) {
    const src = x + (<usize>(c * plane) << 2);
    if (mean) {
      let acc = f32x4.splat(0);
      let p = 0;
      for (; p + 4 <= plane; p += 4) acc = f32x4.add(acc, v128.load(src + (<usize>p << 2)));
      let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      for (; p < plane; p++) sum += load<f32>(src + (<usize>p << 2));
      store<f32>(out + <usize>c * rowBytes, sum / <f32>plane);
    } else {
      let dst = out + <usize>c * rowBytes;
      const step = <usize>C * rowBytes;
      for (let p = 0; p < plane; p++) {
        store<f32>(dst, load<f32>(src + (<usize>p << 2)));
        dst += step;
      }
    }
  }
}
