// Sparse convolution (and dense-layer) training kernels: CSR/CSC active weights times a blocked im2col.
//
// Layouts (all float32, byte offsets into tfjs-wasm's heap):
// - activations and gradients arrive in tfjs's NHWC, kernels in [KH, KW, CI, CO] = [K, CO] row-major;
// - `cols` is the im2col matrix transposed and cut into blocks of 32 pixels: cols[b][k][q] holds input
//   column k = (kh·KW + kw)·CI + ci for pixel p = 32·b + q, p = (n·OH + oh)·OW + ow (zero outside the image
//   and past P = N·OH·OW). One block is K·32 floats, contiguous, so a weight times a block row is eight
//   f32x4 operations on 128 consecutive bytes;
// - `dyt` is the output gradient in the same blocked form: dyt[b][co][q];
// - CSR (rowPtr over CO rows, colIdx = k) serves the forward pass and the weight gradient, CSC (cscPtr over
//   K rows, cscRow = co) the input gradient, so every product accumulates in registers.
// A dense layer is the 1×1 convolution of a 1×1 image (K = in, P = batch).
//
// Each product kernel takes a range of its work as its last two arguments (blocks of pixels, output rows,
// or images), so kernel workers can split it (src/engine/kernels/sparse-conv2d.ts): the ranges write
// disjoint memory and every sum runs in the same order whatever the split, so any thread count gives the
// same bits.

@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * Stores the transpose of the 4 × 4 block whose rows are r0..r3 (4 floats each): column c, i.e.
 * (r0[c], r1[c], r2[c], r3[c]), goes to d + c·stride. Eight shuffles instead of sixteen scalar moves.
 */
@inline
function storeTransposed(r0: v128, r1: v128, r2: v128, r3: v128, d: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(d + stride, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(d + 2 * stride, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(d + 3 * stride, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/** As {@link storeTransposed}, but adds each column to what d + c·stride holds (4 unaligned floats). */
@inline
function addTransposed(r0: v128, r1: v128, r2: v128, r3: v128, d0: usize, d1: usize, d2: usize, d3: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(d0, f32x4.add(v128.load(d0), v128.shuffle<f32>(t0, t1, 0, 1, 4, 5)));
  v128.store(d1, f32x4.add(v128.load(d1), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7)));
  v128.store(d2, f32x4.add(v128.load(d2), v128.shuffle<f32>(t2, t3, 0, 1, 4, 5)));
  v128.store(d3, f32x4.add(v128.load(d3), v128.shuffle<f32>(t2, t3, 2, 3, 6, 7)));
}

/**
 * acc[0..16) (four f32x4) += Σ_j w_j · row_j[half .. half + 16) over the entries [start, end) of a CSR (or
 * CSC) row, where w_j = values[j] and row_j = base + idx[j]·128 (a 32-float row of a block). The caller
 * runs it once per half of the 32 floats: with four accumulators and two entries per step, V8 keeps every
 * vector in a register (eight accumulators spilled one to the stack, and the loop then waited on that
 * store at every entry). The terms are added one by one in entry order, so the sums are those of one
 * sweep with eight accumulators, bit for bit. `fresh` starts from 0 instead of acc.
 */
@inline
function accumulateHalf(
  acc: usize, fresh: bool, start: i32, end: i32, values: usize, idx: usize, base: usize, half: usize,
): void {
  let a0: v128, a1: v128, a2: v128, a3: v128;
  if (fresh) {
    a0 = f32x4.splat(0); a1 = a0; a2 = a0; a3 = a0;
  } else {
    a0 = v128.load(acc); a1 = v128.load(acc, 16); a2 = v128.load(acc, 32); a3 = v128.load(acc, 48);
  }
  let j = start;
  for (; j + 2 <= end; j += 2) {
    const at = <usize>j << 2;
    const w0 = f32x4.splat(load<f32>(values + at));
    const w1 = f32x4.splat(load<f32>(values + at, 4));
    const s0 = base + (<usize>load<i32>(idx + at) << 7) + half;
    const s1 = base + (<usize>load<i32>(idx + at, 4) << 7) + half;
    // Entry by entry, as a plain sweep adds them (the sums' bits do not depend on the unrolling).
    a0 = f32x4.add(f32x4.add(a0, f32x4.mul(w0, v128.load(s0))), f32x4.mul(w1, v128.load(s1)));
    a1 = f32x4.add(f32x4.add(a1, f32x4.mul(w0, v128.load(s0, 16))), f32x4.mul(w1, v128.load(s1, 16)));
    a2 = f32x4.add(f32x4.add(a2, f32x4.mul(w0, v128.load(s0, 32))), f32x4.mul(w1, v128.load(s1, 32)));
    a3 = f32x4.add(f32x4.add(a3, f32x4.mul(w0, v128.load(s0, 48))), f32x4.mul(w1, v128.load(s1, 48)));
  }
  if (j < end) {
    const at = <usize>j << 2;
    const w = f32x4.splat(load<f32>(values + at));
    const src = base + (<usize>load<i32>(idx + at) << 7) + half;
    a0 = f32x4.add(a0, f32x4.mul(w, v128.load(src)));
    a1 = f32x4.add(a1, f32x4.mul(w, v128.load(src, 16)));
    a2 = f32x4.add(a2, f32x4.mul(w, v128.load(src, 32)));
    a3 = f32x4.add(a3, f32x4.mul(w, v128.load(src, 48)));
  }
  v128.store(acc, a0);
  v128.store(acc, a1, 16);
  v128.store(acc, a2, 32);
  v128.store(acc, a3, 48);
}

/**
 * Where pixel p's window starts in x, as a byte offset of its first row's first column (which may lie
 * outside the image), packed with the window's validity: the pixel's input row ih0 = oh·SH − PT and
 * column iw0 = ow·SW − PL, and whether columns iw0 .. iw0 + KW − 1 all lie inside [0, W).
 */
@inline
function windowBase(x: usize, n: i32, ih0: i32, iw0: i32, H: i32, W: i32, CI: i32): usize {
  return x + (<usize>(((n * H + ih0) * W + iw0) * CI) << 2);
}

/** im2col of one pixel p (q = p mod 32 in its block `base`), scalar, bounds checked per tap. */
@inline
function im2colPixel(
  x: usize, base: usize, n: i32, oh: i32, ow: i32,
  H: i32, W: i32, CI: i32, KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
): void {
  for (let kh = 0; kh < KH; kh++) {
    const ih = oh * SH + kh - PT;
    for (let kw = 0; kw < KW; kw++) {
      const iw = ow * SW + kw - PL;
      let dst = base + (<usize>((kh * KW + kw) * CI) << 7);
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
        let src = x + (<usize>(((n * H + ih) * W + iw) * CI) << 2);
        for (let ci = 0; ci < CI; ci++) {
          store<f32>(dst, load<f32>(src));
          src += 4;
          dst += 128;
        }
      } else {
        for (let ci = 0; ci < CI; ci++) {
          store<f32>(dst, 0);
          dst += 128;
        }
      }
    }
  }
}

/**
 * im2col of an NHWC batch into the blocked, transposed layout described above, for the blocks
 * [b0, b1). Takes the geometry every conv kernel takes (CO unused). Pixels go four at a time (a group never
 * straddles a block): for each kernel row kh whose KW·CI inputs are contiguous in x for all four (the
 * window row inside the image), the row is moved as 4 × 4 transposes; other rows, and the last P mod 4
 * pixels, one float at a time.
 */
export function im2colBlocked(
  x: usize, cols: usize,
  N: i32, H: i32, W: i32, CI: i32, OH: i32, OW: i32, CO: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, b0: i32, b1: i32,
): void {
  const K = KH * KW * CI;
  const P = N * OH * OW;
  const blockBytes = <usize>K << 7;
  const nb = (P + 31) >> 5;
  const run = KW * CI;
  const rowBytes = <usize>(W * CI) << 2;
  // Only the last block has columns past P.
  if ((P & 31) != 0 && b1 == nb) memory.fill(cols + <usize>(nb - 1) * blockBytes, 0, blockBytes);
  let p = b0 << 5;
  const pEnd = min(P, b1 << 5);
  const OHW = OH * OW;
  let n = p / OHW;
  let oh = (p - n * OHW) / OW;
  let ow = p - n * OHW - oh * OW;
  for (; p + 4 <= pEnd; p += 4) {
    const base = cols + <usize>(p >> 5) * blockBytes + (<usize>(p & 31) << 2);
    // The four pixels' positions.
    let n1 = n, oh1 = oh, ow1 = ow + 1;
    if (ow1 == OW) { ow1 = 0; oh1++; if (oh1 == OH) { oh1 = 0; n1++; } }
    let n2 = n1, oh2 = oh1, ow2 = ow1 + 1;
    if (ow2 == OW) { ow2 = 0; oh2++; if (oh2 == OH) { oh2 = 0; n2++; } }
    let n3 = n2, oh3 = oh2, ow3 = ow2 + 1;
    if (ow3 == OW) { ow3 = 0; oh3++; if (oh3 == OH) { oh3 = 0; n3++; } }
    const iw0 = ow * SW - PL, iw1 = ow1 * SW - PL, iw2 = ow2 * SW - PL, iw3 = ow3 * SW - PL;
    const colsInside =
      iw0 >= 0 && iw0 + KW <= W && iw1 >= 0 && iw1 + KW <= W &&
      iw2 >= 0 && iw2 + KW <= W && iw3 >= 0 && iw3 + KW <= W;
    const ih0 = oh * SH - PT, ih1 = oh1 * SH - PT, ih2 = oh2 * SH - PT, ih3 = oh3 * SH - PT;
    let s0 = windowBase(x, n, ih0, iw0, H, W, CI);
    let s1 = windowBase(x, n1, ih1, iw1, H, W, CI);
    let s2 = windowBase(x, n2, ih2, iw2, H, W, CI);
    let s3 = windowBase(x, n3, ih3, iw3, H, W, CI);
    for (let kh = 0; kh < KH; kh++) {
      const dst = base + (<usize>(kh * run) << 7);
      const inside =
        colsInside &&
        ih0 + kh >= 0 && ih0 + kh < H && ih1 + kh >= 0 && ih1 + kh < H &&
        ih2 + kh >= 0 && ih2 + kh < H && ih3 + kh >= 0 && ih3 + kh < H;
      if (inside) {
        let r = 0;
        for (; r + 4 <= run; r += 4) {
          const at = <usize>r << 2;
          storeTransposed(
            v128.load(s0 + at), v128.load(s1 + at), v128.load(s2 + at), v128.load(s3 + at),
            dst + (<usize>r << 7), 128,
          );
        }
        for (; r < run; r++) {
          const at = <usize>r << 2;
          const d = dst + (<usize>r << 7);
          store<f32>(d, load<f32>(s0 + at));
          store<f32>(d, load<f32>(s1 + at), 4);
          store<f32>(d, load<f32>(s2 + at), 8);
          store<f32>(d, load<f32>(s3 + at), 12);
        }
      } else {
        // Kernel row kh of each pixel, bounds checked per tap.
        for (let i = 0; i < 4; i++) {
          const pn = i == 0 ? n : i == 1 ? n1 : i == 2 ? n2 : n3;
          const poh = i == 0 ? oh : i == 1 ? oh1 : i == 2 ? oh2 : oh3;
          const pow = i == 0 ? ow : i == 1 ? ow1 : i == 2 ? ow2 : ow3;
          const ih = poh * SH + kh - PT;
          for (let kw = 0; kw < KW; kw++) {
            const iw = pow * SW + kw - PL;
            let d = dst + (<usize>(kw * CI) << 7) + (<usize>i << 2);
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
              let src = x + (<usize>(((pn * H + ih) * W + iw) * CI) << 2);
              for (let ci = 0; ci < CI; ci++) {
                store<f32>(d, load<f32>(src));
                src += 4;
                d += 128;
              }
            } else {
              for (let ci = 0; ci < CI; ci++) {
                store<f32>(d, 0);
                d += 128;
              }
            }
          }
        }
      }
      s0 += rowBytes;
      s1 += rowBytes;
      s2 += rowBytes;
      s3 += rowBytes;
    }
    n = n3;
    oh = oh3;
    ow = ow3 + 1;
    if (ow == OW) { ow = 0; oh++; if (oh == OH) { oh = 0; n++; } }
  }
  for (; p < pEnd; p++) {
    const base = cols + <usize>(p >> 5) * blockBytes + (<usize>(p & 31) << 2);
    im2colPixel(x, base, n, oh, ow, H, W, CI, KH, KW, SH, SW, PT, PL);
    ow++;
    if (ow == OW) { ow = 0; oh++; if (oh == OH) { oh = 0; n++; } }
  }
}

/** values[j] = kernel[colIdx[j]·CO + row(j)] for the CSR rows (or CSC rows with rows/cols swapped). */
export function gatherValues(
  kernel: usize, ptr: usize, idx: usize, rows: i32, CO: i32, rowsAreOutputs: i32, values: usize,
): void {
  for (let r = 0; r < rows; r++) {
    const start = load<i32>(ptr + (<usize>r << 2));
    const end = load<i32>(ptr + (<usize>(r + 1) << 2));
    for (let j = start; j < end; j++) {
      const other = load<i32>(idx + (<usize>j << 2));
      const at = rowsAreOutputs ? other * CO + r : r * CO + other;
      store<f32>(values + (<usize>j << 2), load<f32>(kernel + (<usize>at << 2)));
    }
  }
}

/**
 * Forward: y[p][co] = act(bias[co] + Σ_j values[j] · cols[k_j][p]) over the CSR row co, written in NHWC,
 * for the blocks [b0, b1). Each row of a block of 32 pixels is summed into `scratch` ([CO][32] floats, the
 * thread's own), half a block at a time in registers ({@link accumulateHalf}); the block then goes to y as
 * 4 × 4 transposes (tail channels and pixels one float at a time). `relu` is 0 or 1.
 */
export function sparseConvForward(
  cols: usize, K: i32, P: i32, rowPtr: usize, colIdx: usize, values: usize, CO: i32,
  bias: usize, hasBias: i32, relu: i32, y: usize, b0: i32, b1: i32, scratch: usize,
): void {
  const blockBytes = <usize>K << 7;
  const rowBytes = <usize>CO << 2;
  const zero = f32x4.splat(0);
  for (let b = b0; b < b1; b++) {
    const chunk = cols + <usize>b * blockBytes;
    const p0 = b << 5;
    const count = min(32, P - p0);
    for (let co = 0; co < CO; co++) {
      const start = load<i32>(rowPtr + (<usize>co << 2));
      const end = load<i32>(rowPtr + (<usize>(co + 1) << 2));
      const out = scratch + (<usize>co << 7);
      const bv = f32x4.splat(hasBias ? load<f32>(bias + (<usize>co << 2)) : 0);
      v128.store(out, bv);
      v128.store(out, bv, 16);
      v128.store(out, bv, 32);
      v128.store(out, bv, 48);
      v128.store(out, bv, 64);
      v128.store(out, bv, 80);
      v128.store(out, bv, 96);
      v128.store(out, bv, 112);
      accumulateHalf(out, false, start, end, values, colIdx, chunk, 0);
      accumulateHalf(out + 64, false, start, end, values, colIdx, chunk, 64);
    }
    if (relu) {
      for (let at: usize = 0; at < (<usize>CO << 7); at += 16) {
        v128.store(scratch + at, f32x4.max(v128.load(scratch + at), zero));
      }
    }
    // scratch[co][q] → y[p0 + q][co].
    const yBlock = y + <usize>p0 * rowBytes;
    let q = 0;
    for (; q + 4 <= count; q += 4) {
      const yq = yBlock + <usize>q * rowBytes;
      const sq = scratch + (<usize>q << 2);
      let co = 0;
      for (; co + 4 <= CO; co += 4) {
        const s = sq + (<usize>co << 7);
        storeTransposed(v128.load(s), v128.load(s, 128), v128.load(s, 256), v128.load(s, 384), yq + (<usize>co << 2), rowBytes);
      }
      for (; co < CO; co++) {
        const s = sq + (<usize>co << 7);
        const d = yq + (<usize>co << 2);
        store<f32>(d, load<f32>(s));
        store<f32>(d + rowBytes, load<f32>(s, 4));
        store<f32>(d + 2 * rowBytes, load<f32>(s, 8));
        store<f32>(d + 3 * rowBytes, load<f32>(s, 12));
      }
    }
    for (; q < count; q++) {
      const yq = yBlock + <usize>q * rowBytes;
      for (let co = 0; co < CO; co++) store<f32>(yq + (<usize>co << 2), load<f32>(scratch + (<usize>co << 7) + (<usize>q << 2)));
    }
  }
}

/**
 * The output gradient in blocked form, for the blocks [b0, b1): dyt[b][co][q] = dy[p][co], zeroed where a
 * fused ReLU was inactive (y ≤ 0, tfjs's rule) and past P.
 */
export function gradToBlocked(
  dy: usize, y: usize, relu: i32, P: i32, CO: i32, dyt: usize, b0: i32, b1: i32,
): void {
  const nb = (P + 31) >> 5;
  const blockBytes = <usize>CO << 7;
  const rowBytes = <usize>CO << 2;
  const zero = f32x4.splat(0);
  if ((P & 31) != 0 && b1 == nb) memory.fill(dyt + <usize>(nb - 1) * blockBytes, 0, blockBytes);
  let p = b0 << 5;
  const pEnd = min(P, b1 << 5);
  // Four pixels × four channels at a time: a 4 × 4 transpose (ReLU's gate applied before it).
  for (; p + 4 <= pEnd; p += 4) {
    const base = dyt + <usize>(p >> 5) * blockBytes + (<usize>(p & 31) << 2);
    const row = <usize>(p * CO) << 2;
    let co = 0;
    for (; co + 4 <= CO; co += 4) {
      const at = row + (<usize>co << 2);
      let g0 = v128.load(dy + at);
      let g1 = v128.load(dy + at + rowBytes);
      let g2 = v128.load(dy + at + 2 * rowBytes);
      let g3 = v128.load(dy + at + 3 * rowBytes);
      if (relu) {
        // Zero where y ≤ 0 (tfjs's rule; a NaN y keeps its gradient).
        g0 = v128.andnot(g0, f32x4.le(v128.load(y + at), zero));
        g1 = v128.andnot(g1, f32x4.le(v128.load(y + at + rowBytes), zero));
        g2 = v128.andnot(g2, f32x4.le(v128.load(y + at + 2 * rowBytes), zero));
        g3 = v128.andnot(g3, f32x4.le(v128.load(y + at + 3 * rowBytes), zero));
      }
      storeTransposed(g0, g1, g2, g3, base + (<usize>co << 7), 128);
    }
    for (; co < CO; co++) {
      for (let i = 0; i < 4; i++) {
        const at = row + <usize>i * rowBytes + (<usize>co << 2);
        let g = load<f32>(dy + at);
        if (relu && load<f32>(y + at) <= 0) g = 0;
        store<f32>(base + (<usize>co << 7) + (<usize>i << 2), g);
      }
    }
  }
  for (; p < pEnd; p++) {
    const base = dyt + <usize>(p >> 5) * blockBytes + (<usize>(p & 31) << 2);
    const row = <usize>(p * CO) << 2;
    for (let co = 0; co < CO; co++) {
      const at = row + (<usize>co << 2);
      let g = load<f32>(dy + at);
      if (relu && load<f32>(y + at) <= 0) g = 0;
      store<f32>(base + (<usize>co << 7), g);
    }
  }
}

/** The bias gradient from the blocked output gradient: db[co] = Σ_p dyt[co][p] (block sums, then theirs). */
export function blockedBiasGrad(dyt: usize, P: i32, CO: i32, db: usize): void {
  const nb = (P + 31) >> 5;
  const blockBytes = <usize>CO << 7;
  for (let co = 0; co < CO; co++) {
    let total = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      const src = dyt + <usize>b * blockBytes + (<usize>co << 7);
      const s0 = f32x4.add(f32x4.add(v128.load(src), v128.load(src, 16)), f32x4.add(v128.load(src, 32), v128.load(src, 48)));
      const s1 = f32x4.add(f32x4.add(v128.load(src, 64), v128.load(src, 80)), f32x4.add(v128.load(src, 96), v128.load(src, 112)));
      total = f32x4.add(total, f32x4.add(s0, s1));
    }
    store<f32>(db + (<usize>co << 2), hsum(total));
  }
}

/**
 * The weight gradient at the active positions of the output rows [r0, r1) (a sampled dense-dense
 * product): dw[k_j][co] = Σ_p dyt[co][p] · cols[k_j][p] for every CSR entry j of row co. The caller zeroes
 * the dense [K, CO] output first; this writes only the active entries. `acc` is scratch of nnz·16 bytes
 * (one f32x4 partial sum per entry, summed over the blocks in order).
 */
export function sparseConvWeightGrad(
  cols: usize, dyt: usize, K: i32, P: i32, CO: i32, rowPtr: usize, colIdx: usize, acc: usize, dw: usize,
  r0: i32, r1: i32,
): void {
  const nb = (P + 31) >> 5;
  const first = load<i32>(rowPtr + (<usize>r0 << 2));
  const last = load<i32>(rowPtr + (<usize>r1 << 2));
  memory.fill(acc + (<usize>first << 4), 0, <usize>(last - first) << 4);
  const xBlock = <usize>K << 7;
  const gBlock = <usize>CO << 7;
  for (let b = 0; b < nb; b++) {
    const xc = cols + <usize>b * xBlock;
    const gc = dyt + <usize>b * gBlock;
    for (let co = r0; co < r1; co++) {
      const start = load<i32>(rowPtr + (<usize>co << 2));
      const end = load<i32>(rowPtr + (<usize>(co + 1) << 2));
      if (start == end) continue;
      const g = gc + (<usize>co << 7);
      const g0 = v128.load(g), g1 = v128.load(g, 16), g2 = v128.load(g, 32), g3 = v128.load(g, 48);
      const g4 = v128.load(g, 64), g5 = v128.load(g, 80), g6 = v128.load(g, 96), g7 = v128.load(g, 112);
      for (let j = start; j < end; j++) {
        const src = xc + (<usize>load<i32>(colIdx + (<usize>j << 2)) << 7);
        const t0 = f32x4.add(f32x4.mul(g0, v128.load(src)), f32x4.mul(g1, v128.load(src, 16)));
        const t1 = f32x4.add(f32x4.mul(g2, v128.load(src, 32)), f32x4.mul(g3, v128.load(src, 48)));
        const t2 = f32x4.add(f32x4.mul(g4, v128.load(src, 64)), f32x4.mul(g5, v128.load(src, 80)));
        const t3 = f32x4.add(f32x4.mul(g6, v128.load(src, 96)), f32x4.mul(g7, v128.load(src, 112)));
        const a = acc + (<usize>j << 4);
        v128.store(a, f32x4.add(v128.load(a), f32x4.add(f32x4.add(t0, t1), f32x4.add(t2, t3))));
      }
    }
  }
  for (let co = r0; co < r1; co++) {
    const start = load<i32>(rowPtr + (<usize>co << 2));
    const end = load<i32>(rowPtr + (<usize>(co + 1) << 2));
    for (let j = start; j < end; j++) {
      const k = load<i32>(colIdx + (<usize>j << 2));
      store<f32>(dw + (<usize>(k * CO + co) << 2), hsum(v128.load(acc + (<usize>j << 4))));
    }
  }
}

/** Zeroes `bytes` bytes at `ptr` (a memset for the TypeScript side, which cannot reach memory.fill). */
export function zeroFill(ptr: usize, bytes: i32): void {
  memory.fill(ptr, 0, <usize>bytes);
}

/**
 * col2im of the block in `scratch` (dcols[k][q] for the pixels p0 + q, q < count) into dx, for the pixels
 * in [pa, pb) only: the inverse of {@link im2colBlocked}'s moves. Four pixels at a time (groups aligned
 * to the block): each kernel row whose window row lies inside the image for all four is added as 4 × 4
 * transposes, the others one float at a time. Either way a group adds kernel row by kernel row and, within
 * a row, pixel by pixel, so every dx entry receives its terms in the same order whatever [pa, pb) is (the
 * pixels of one image only touch that image, which is how threads split the work).
 */
function col2imBlock(
  scratch: usize, dx: usize, p0: i32, count: i32, pa: i32, pb: i32,
  H: i32, W: i32, CI: i32, OH: i32, OW: i32, KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
): void {
  const OHW = OH * OW;
  const run = KW * CI;
  const rowBytes = <usize>(W * CI) << 2;
  let n = p0 / OHW;
  const r0 = p0 - n * OHW;
  let oh = r0 / OW;
  let ow = r0 - oh * OW;
  for (let q = 0; q < count; q += 4) {
    let n1 = n, oh1 = oh, ow1 = ow + 1;
    if (ow1 == OW) { ow1 = 0; oh1++; if (oh1 == OH) { oh1 = 0; n1++; } }
    let n2 = n1, oh2 = oh1, ow2 = ow1 + 1;
    if (ow2 == OW) { ow2 = 0; oh2++; if (oh2 == OH) { oh2 = 0; n2++; } }
    let n3 = n2, oh3 = oh2, ow3 = ow2 + 1;
    if (ow3 == OW) { ow3 = 0; oh3++; if (oh3 == OH) { oh3 = 0; n3++; } }
    const p = p0 + q;
    // The pixels of this group that are ours: [first, end) of 0..3.
    const first = max(0, pa - p);
    const end = min(min(4, count - q), pb - p);
    if (first < end) {
      const iw0 = ow * SW - PL, iw1 = ow1 * SW - PL, iw2 = ow2 * SW - PL, iw3 = ow3 * SW - PL;
      const ih0 = oh * SH - PT, ih1 = oh1 * SH - PT, ih2 = oh2 * SH - PT, ih3 = oh3 * SH - PT;
      const whole =
        first == 0 && end == 4 &&
        iw0 >= 0 && iw0 + KW <= W && iw1 >= 0 && iw1 + KW <= W &&
        iw2 >= 0 && iw2 + KW <= W && iw3 >= 0 && iw3 + KW <= W;
      let d0 = windowBase(dx, n, ih0, iw0, H, W, CI);
      let d1 = windowBase(dx, n1, ih1, iw1, H, W, CI);
      let d2 = windowBase(dx, n2, ih2, iw2, H, W, CI);
      let d3 = windowBase(dx, n3, ih3, iw3, H, W, CI);
      const src = scratch + (<usize>q << 2);
      for (let kh = 0; kh < KH; kh++) {
        const rowSrc = src + (<usize>(kh * run) << 7);
        const inside =
          whole &&
          ih0 + kh >= 0 && ih0 + kh < H && ih1 + kh >= 0 && ih1 + kh < H &&
          ih2 + kh >= 0 && ih2 + kh < H && ih3 + kh >= 0 && ih3 + kh < H;
        if (inside) {
          let r = 0;
          for (; r + 4 <= run; r += 4) {
            const s = rowSrc + (<usize>r << 7);
            const at = <usize>r << 2;
            addTransposed(
              v128.load(s), v128.load(s, 128), v128.load(s, 256), v128.load(s, 384),
              d0 + at, d1 + at, d2 + at, d3 + at,
            );
          }
          // The last run mod 4 floats: still pixel by pixel within the chunk, like the transposes.
          const tail = rowSrc + (<usize>r << 7);
          const at = <usize>r << 2;
          for (let t = 0; t < run - r; t++) {
            store<f32>(d0 + at + (<usize>t << 2), load<f32>(d0 + at + (<usize>t << 2)) + load<f32>(tail + (<usize>t << 7)));
          }
          for (let t = 0; t < run - r; t++) {
            store<f32>(d1 + at + (<usize>t << 2), load<f32>(d1 + at + (<usize>t << 2)) + load<f32>(tail + (<usize>t << 7), 4));
          }
          for (let t = 0; t < run - r; t++) {
            store<f32>(d2 + at + (<usize>t << 2), load<f32>(d2 + at + (<usize>t << 2)) + load<f32>(tail + (<usize>t << 7), 8));
          }
          for (let t = 0; t < run - r; t++) {
            store<f32>(d3 + at + (<usize>t << 2), load<f32>(d3 + at + (<usize>t << 2)) + load<f32>(tail + (<usize>t << 7), 12));
          }
        } else {
          // Bounds checked per tap, in the same order as above: chunks of 4 floats of the row, and
          // within a chunk pixel by pixel.
          for (let c0 = 0; c0 < run; c0 += 4) {
            const cEnd = min(run, c0 + 4);
            const kw0 = c0 / CI;
            for (let i = first; i < end; i++) {
              const pn = i == 0 ? n : i == 1 ? n1 : i == 2 ? n2 : n3;
              const poh = i == 0 ? oh : i == 1 ? oh1 : i == 2 ? oh2 : oh3;
              const pow = i == 0 ? ow : i == 1 ? ow1 : i == 2 ? ow2 : ow3;
              const ih = poh * SH + kh - PT;
              if (ih < 0 || ih >= H) continue;
              let kw = kw0;
              let ci = c0 - kw0 * CI;
              for (let r = c0; r < cEnd; r++) {
                const iw = pow * SW + kw - PL;
                if (iw >= 0 && iw < W) {
                  const dst = dx + (<usize>(((pn * H + ih) * W + iw) * CI + ci) << 2);
                  store<f32>(dst, load<f32>(dst) + load<f32>(rowSrc + (<usize>r << 7) + (<usize>i << 2)));
                }
                ci++;
                if (ci == CI) {
                  ci = 0;
                  kw++;
                }
              }
            }
          }
        }
        d0 += rowBytes;
        d1 += rowBytes;
        d2 += rowBytes;
        d3 += rowBytes;
      }
    }
    n = n3;
    oh = oh3;
    ow = ow3 + 1;
    if (ow == OW) { ow = 0; oh++; if (oh == OH) { oh = 0; n++; } }
  }
}

/**
 * The input gradient of the images [n0, n1): per block of their pixels, dcols[k][q] = Σ_j cscValues[j] ·
 * dyt[co_j][q] over the CSC row k (in registers), then col2im of that block into dx (NHWC), accumulating
 * where windows overlap. `scratch` holds one block (K·32 floats), so the transposed product never leaves
 * the cache; each thread has its own. A block shared by two threads' images is computed by both.
 */
export function sparseConvInputGrad(
  dyt: usize, cscPtr: usize, cscRow: usize, cscValues: usize, dx: usize,
  N: i32, H: i32, W: i32, CI: i32, OH: i32, OW: i32, CO: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, n0: i32, n1: i32, scratch: usize,
): void {
  if (n0 >= n1) return;
  const K = KH * KW * CI;
  const OHW = OH * OW;
  const pa = n0 * OHW;
  const pb = n1 * OHW;
  const gBlock = <usize>CO << 7;
  const image = H * W * CI;
  memory.fill(dx + (<usize>(n0 * image) << 2), 0, <usize>((n1 - n0) * image) << 2);
  for (let b = pa >> 5; b < (pb + 31) >> 5; b++) {
    const gc = dyt + <usize>b * gBlock;
    for (let k = 0; k < K; k++) {
      const start = load<i32>(cscPtr + (<usize>k << 2));
      const end = load<i32>(cscPtr + (<usize>(k + 1) << 2));
      const out = scratch + (<usize>k << 7);
      accumulateHalf(out, true, start, end, cscValues, cscRow, gc, 0);
      accumulateHalf(out + 64, true, start, end, cscValues, cscRow, gc, 64);
    }
    const p0 = b << 5;
    col2imBlock(scratch, dx, p0, min(32, N * OHW - p0), pa, pb, H, W, CI, OH, OW, KH, KW, SH, SW, PT, PL);
  }
}

/**
 * One Adam step in place, at the active positions only: the CSC rows of the layout (ascending k, then
 * ascending co, so positions k·CO + co come in memory order). The same operations, in the same order and
 * float32 rounding, as {@link adamUpdate}, so an active weight moves exactly as under the dense update;
 * masked weights and their moments (0, reset when they were pruned) are not touched. `decay` > 0 adds
 * decay·w to the gradient first (L2 weight decay, what the loss term decay/2·Σw² contributes).
 */
export function adamUpdateAt(
  w: usize, m: usize, v: usize, g: usize, cscPtr: usize, cscRow: usize, K: i32, CO: i32,
  negLr: f32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32,
  epsilon: f32, c1: f32, c2: f32, decay: f32,
): void {
  for (let k = 0; k < K; k++) {
    const start = load<i32>(cscPtr + (<usize>k << 2));
    const end = load<i32>(cscPtr + (<usize>(k + 1) << 2));
    const row = <usize>(k * CO) << 2;
    for (let j = start; j < end; j++) {
      const at = row + (<usize>load<i32>(cscRow + (<usize>j << 2)) << 2);
      const wi = load<f32>(w + at);
      let gi = load<f32>(g + at);
      if (decay != 0) gi = gi + wi * decay;
      const mi = load<f32>(m + at) * beta1 + gi * oneMinusBeta1;
      const vi = load<f32>(v + at) * beta2 + gi * gi * oneMinusBeta2;
      store<f32>(m + at, mi);
      store<f32>(v + at, vi);
      const step = mi / c1 / (Mathf.sqrt(vi / c2) + epsilon);
      store<f32>(w + at, step * negLr + wi);
    }
  }
}

/**
 * One step of SGD with (heavy-ball) momentum in place at the active positions, in tfjs's MomentumOptimizer
 * order: a' = a·momentum + g; w' = (−lr)·a' + w. `decay` as in {@link adamUpdateAt}.
 */
export function momentumUpdateAt(
  w: usize, a: usize, g: usize, cscPtr: usize, cscRow: usize, K: i32, CO: i32,
  negLr: f32, momentum: f32, decay: f32,
): void {
  for (let k = 0; k < K; k++) {
    const start = load<i32>(cscPtr + (<usize>k << 2));
    const end = load<i32>(cscPtr + (<usize>(k + 1) << 2));
    const row = <usize>(k * CO) << 2;
    for (let j = start; j < end; j++) {
      const at = row + (<usize>load<i32>(cscRow + (<usize>j << 2)) << 2);
      const wi = load<f32>(w + at);
      let gi = load<f32>(g + at);
      if (decay != 0) gi = gi + wi * decay;
      const ai = load<f32>(a + at) * momentum + gi;
      store<f32>(a + at, ai);
      store<f32>(w + at, negLr * ai + wi);
    }
  }
}

/** Σ w² over the active positions (the sparse layers' share of the weight-decay term, for the loss). */
export function sumSquaresAt(w: usize, cscPtr: usize, cscRow: usize, K: i32, CO: i32): f64 {
  let sum: f64 = 0;
  for (let k = 0; k < K; k++) {
    const start = load<i32>(cscPtr + (<usize>k << 2));
    const end = load<i32>(cscPtr + (<usize>(k + 1) << 2));
    const row = <usize>(k * CO) << 2;
    for (let j = start; j < end; j++) {
      const wi = load<f32>(w + row + (<usize>load<i32>(cscRow + (<usize>j << 2)) << 2));
      sum += <f64>(wi * wi);
    }
  }
  return sum;
}

