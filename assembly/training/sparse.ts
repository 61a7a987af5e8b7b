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

/** Stores the first min(count, 4) lanes of v at ptr, ptr + stride, ptr + 2·stride, ... */
@inline
function storeLanes(ptr: usize, stride: usize, v: v128, count: i32): void {
  if (count <= 0) return;
  store<f32>(ptr, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(ptr + stride, f32x4.extract_lane(v, 1));
  if (count > 2) store<f32>(ptr + 2 * stride, f32x4.extract_lane(v, 2));
  if (count > 3) store<f32>(ptr + 3 * stride, f32x4.extract_lane(v, 3));
}

@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * im2col of an NHWC batch into the blocked, transposed layout described above. Takes the geometry every
 * conv kernel takes (CO unused).
 */
export function im2colBlocked(
  x: usize, cols: usize,
  N: i32, H: i32, W: i32, CI: i32, OH: i32, OW: i32, CO: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
): void {
  const K = KH * KW * CI;
  const P = N * OH * OW;
  const blockBytes = <usize>K << 7;
  const nb = (P + 31) >> 5;
  // Only the last block has columns past P.
  if (P & 31) memory.fill(cols + <usize>(nb - 1) * blockBytes, 0, blockBytes);
  let p = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const base = cols + <usize>(p >> 5) * blockBytes + (<usize>(p & 31) << 2);
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
        p++;
      }
    }
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
 * Forward: y[p][co] = act(bias[co] + Σ_j values[j] · cols[k_j][p]) over the CSR row co, written in NHWC.
 * Each block of 32 pixels stays in eight SIMD accumulators across the whole row. `relu` is 0 or 1.
 */
export function sparseConvForward(
  cols: usize, K: i32, P: i32, rowPtr: usize, colIdx: usize, values: usize, CO: i32,
  bias: usize, hasBias: i32, relu: i32, y: usize,
): void {
  const nb = (P + 31) >> 5;
  const blockBytes = <usize>K << 7;
  const stride = <usize>CO << 2;
  const zero = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const chunk = cols + <usize>b * blockBytes;
    const p0 = b << 5;
    const count = min(32, P - p0);
    for (let co = 0; co < CO; co++) {
      const start = load<i32>(rowPtr + (<usize>co << 2));
      const end = load<i32>(rowPtr + (<usize>(co + 1) << 2));
      const bv = f32x4.splat(hasBias ? load<f32>(bias + (<usize>co << 2)) : 0);
      let a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv;
      for (let j = start; j < end; j++) {
        const w = f32x4.splat(load<f32>(values + (<usize>j << 2)));
        const src = chunk + (<usize>load<i32>(colIdx + (<usize>j << 2)) << 7);
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
        a0 = f32x4.max(a0, zero); a1 = f32x4.max(a1, zero); a2 = f32x4.max(a2, zero); a3 = f32x4.max(a3, zero);
        a4 = f32x4.max(a4, zero); a5 = f32x4.max(a5, zero); a6 = f32x4.max(a6, zero); a7 = f32x4.max(a7, zero);
      }
      const out = y + (<usize>(p0 * CO + co) << 2);
      const s4 = stride << 2;
      storeLanes(out, stride, a0, count);
      storeLanes(out + s4, stride, a1, count - 4);
      storeLanes(out + 2 * s4, stride, a2, count - 8);
      storeLanes(out + 3 * s4, stride, a3, count - 12);
      storeLanes(out + 4 * s4, stride, a4, count - 16);
      storeLanes(out + 5 * s4, stride, a5, count - 20);
      storeLanes(out + 6 * s4, stride, a6, count - 24);
      storeLanes(out + 7 * s4, stride, a7, count - 28);
    }
  }
}

/**
 * The output gradient in blocked form: dyt[b][co][q] = dy[p][co], zeroed where a fused ReLU was inactive
 * (y ≤ 0, tfjs's rule) and past P; and the bias gradient db[co] = Σ_p dyt (block sums, then their sum).
 */
export function gradToBlocked(
  dy: usize, y: usize, relu: i32, P: i32, CO: i32, dyt: usize, db: usize, hasBias: i32,
): void {
  const nb = (P + 31) >> 5;
  const blockBytes = <usize>CO << 7;
  if (P & 31) memory.fill(dyt + <usize>(nb - 1) * blockBytes, 0, blockBytes);
  for (let p = 0; p < P; p++) {
    const base = dyt + <usize>(p >> 5) * blockBytes + (<usize>(p & 31) << 2);
    const row = <usize>(p * CO) << 2;
    for (let co = 0; co < CO; co++) {
      const at = row + (<usize>co << 2);
      let g = load<f32>(dy + at);
      if (relu && load<f32>(y + at) <= 0) g = 0;
      store<f32>(base + (<usize>co << 7), g);
    }
  }
  if (!hasBias) return;
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
 * The weight gradient at the active positions only (a sampled dense-dense product):
 * dw[k_j][co] = Σ_p dyt[co][p] · cols[k_j][p] for every CSR entry j of row co; every other entry of the
 * dense [K, CO] output is 0. `acc` is scratch of nnz·16 bytes (one f32x4 partial sum per entry).
 */
export function sparseConvWeightGrad(
  cols: usize, dyt: usize, K: i32, P: i32, CO: i32, rowPtr: usize, colIdx: usize, acc: usize, dw: usize,
): void {
  const nb = (P + 31) >> 5;
  const nnz = load<i32>(rowPtr + (<usize>CO << 2));
  memory.fill(acc, 0, <usize>nnz << 4);
  const xBlock = <usize>K << 7;
  const gBlock = <usize>CO << 7;
  for (let b = 0; b < nb; b++) {
    const xc = cols + <usize>b * xBlock;
    const gc = dyt + <usize>b * gBlock;
    for (let co = 0; co < CO; co++) {
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
  memory.fill(dw, 0, <usize>(K * CO) << 2);
  for (let co = 0; co < CO; co++) {
    const start = load<i32>(rowPtr + (<usize>co << 2));
    const end = load<i32>(rowPtr + (<usize>(co + 1) << 2));
    for (let j = start; j < end; j++) {
      const k = load<i32>(colIdx + (<usize>j << 2));
      store<f32>(dw + (<usize>(k * CO + co) << 2), hsum(v128.load(acc + (<usize>j << 4))));
    }
  }
}

/**
 * The input gradient: per block, dcols[k][q] = Σ_j cscValues[j] · dyt[co_j][q] over the CSC row k (in
 * registers), then col2im of that block into dx (NHWC), accumulating where windows overlap. `scratch`
 * holds one block (K·32 floats), so the transposed product never leaves the cache.
 */
export function sparseConvInputGrad(
  dyt: usize, cscPtr: usize, cscRow: usize, cscValues: usize, scratch: usize, dx: usize,
  N: i32, H: i32, W: i32, CI: i32, OH: i32, OW: i32, CO: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
): void {
  const K = KH * KW * CI;
  const P = N * OH * OW;
  const nb = (P + 31) >> 5;
  const gBlock = <usize>CO << 7;
  const OHW = OH * OW;
  memory.fill(dx, 0, <usize>(N * H * W * CI) << 2);
  for (let b = 0; b < nb; b++) {
    const gc = dyt + <usize>b * gBlock;
    for (let k = 0; k < K; k++) {
      const start = load<i32>(cscPtr + (<usize>k << 2));
      const end = load<i32>(cscPtr + (<usize>(k + 1) << 2));
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      for (let j = start; j < end; j++) {
        const w = f32x4.splat(load<f32>(cscValues + (<usize>j << 2)));
        const src = gc + (<usize>load<i32>(cscRow + (<usize>j << 2)) << 7);
        a0 = f32x4.add(a0, f32x4.mul(w, v128.load(src)));
        a1 = f32x4.add(a1, f32x4.mul(w, v128.load(src, 16)));
        a2 = f32x4.add(a2, f32x4.mul(w, v128.load(src, 32)));
        a3 = f32x4.add(a3, f32x4.mul(w, v128.load(src, 48)));
        a4 = f32x4.add(a4, f32x4.mul(w, v128.load(src, 64)));
        a5 = f32x4.add(a5, f32x4.mul(w, v128.load(src, 80)));
        a6 = f32x4.add(a6, f32x4.mul(w, v128.load(src, 96)));
        a7 = f32x4.add(a7, f32x4.mul(w, v128.load(src, 112)));
      }
      const out = scratch + (<usize>k << 7);
      v128.store(out, a0);
      v128.store(out, a1, 16);
      v128.store(out, a2, 32);
      v128.store(out, a3, 48);
      v128.store(out, a4, 64);
      v128.store(out, a5, 80);
      v128.store(out, a6, 96);
      v128.store(out, a7, 112);
    }
    const p0 = b << 5;
    const count = min(32, P - p0);
    for (let q = 0; q < count; q++) {
      const p = p0 + q;
      const n = p / OHW;
      const r = p - n * OHW;
      const oh = r / OW;
      const ow = r - oh * OW;
      const src0 = scratch + (<usize>q << 2);
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * SH + kh - PT;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * SW + kw - PL;
          if (iw < 0 || iw >= W) continue;
          let dst = dx + (<usize>(((n * H + ih) * W + iw) * CI) << 2);
          let src = src0 + (<usize>((kh * KW + kw) * CI) << 7);
          for (let ci = 0; ci < CI; ci++) {
            store<f32>(dst, load<f32>(dst) + load<f32>(src));
            dst += 4;
            src += 128;
          }
        }
      }
    }
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

