// WebAssembly SIMD kernels for CNN training on the tfjs wasm backend, run inside tfjs-wasm's own memory.
//
// The module imports tfjs-wasm's WebAssembly.Memory, so every pointer below is a byte offset of a tensor
// that tfjs already holds: no copies. The module has no data segment and never allocates, so it cannot
// disturb the emscripten heap it shares. TypeScript (src/engine/kernels/) validates shapes and allocates
// outputs; these functions trust their arguments.
//
// Layouts are tfjs's: activations NHWC, conv filters [KH, KW, CI, CO].

/** Loads 4 consecutive floats, or only the first `count` of them (the rest read as 0), never past them. */
@inline
function loadPartial(ptr: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(ptr));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(ptr, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(ptr, 8));
  return v;
}

@inline
function addStore(ptr: usize, v: v128): void {
  v128.store(ptr, f32x4.add(v128.load(ptr), v));
}

/** The first dw row (of CO floats) of row tile `t`: tiles are 4 input channels of one (kh, kw) slice. */
@inline
function filterTileRow(t: i32, CI: i32): i32 {
  const ciTiles = (CI + 3) >> 2;
  return (t / ciTiles) * CI + (t % ciTiles) * 4;
}

/**
 * The filter gradient of a 2D convolution, dw[kh][kw][ci][co] = Σ over n, oh, ow of
 * x[n][oh·SH + kh − PT][ow·SW + kw − PL][ci] · dy[n][oh][ow][co] (out-of-range x reads as 0), for the row
 * tiles [t0, t1) of dw (a tile is 4 input channels of one (kh, kw): KH·KW·ceil(CI/4) tiles in all).
 *
 * Blocking: a 4 (ci) × 8 (co) tile of dw lives in 8 SIMD registers while one (kh, kw) slice streams
 * through the images. The dw rows of different tiles are disjoint and contiguous, so threads given
 * disjoint tile ranges write disjoint memory, and every dw entry is summed in the same order as by one
 * thread (bit-identical results). Requires CO % 4 == 0 (the caller falls back otherwise).
 */
export function conv2dFilterGradTiles(
  x: usize, dy: usize, dw: usize,
  N: i32, H: i32, W: i32, CI: i32,
  OH: i32, OW: i32, CO: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
  t0: i32, t1: i32,
): void {
  const rowStart = filterTileRow(t0, CI);
  const rowEnd = filterTileRow(t1, CI);
  memory.fill(dw + (<usize>(rowStart * CO) << 2), 0, <usize>((rowEnd - rowStart) * CO) << 2);
  const ciTiles = (CI + 3) >> 2;
  const xStep = <usize>(SW * CI) << 2;
  const dyStep = <usize>CO << 2;
  const dwRow = <usize>CO << 2;
  // A few images at a time (at least 64 output pixels, one image when it has that many): their x and dy
  // stay in cache while every dw tile takes its turn, and each group's partial sums are flushed into dw
  // (which also keeps float32 rounding close to a pairwise sum's). Small images are grouped because the
  // set-up and flush of a tile would otherwise cost as much as its few pixels.
  const group = max(1, (64 + OH * OW - 1) / (OH * OW));
  for (let n0 = 0; n0 < N; n0 += group) {
    const n1 = min(N, n0 + group);
    for (let t = t0; t < t1; t++) {
      const slice = t / ciTiles;
      const kh = slice / KW;
      const kw = slice % KW;
      const ci = (t % ciTiles) * 4;
      // The output columns whose input column lies inside the image.
      let owStart = 0;
      while (owStart < OW && owStart * SW + kw - PL < 0) owStart++;
      let owEnd = OW;
      while (owEnd > owStart && (owEnd - 1) * SW + kw - PL >= W) owEnd--;
      if (owStart >= owEnd) continue;
      const cn = min(4, CI - ci);
      for (let co = 0; co < CO; co += 8) {
        const wide = co + 8 <= CO;
        const out = dw + (<usize>(((kh * KW + kw) * CI + ci) * CO + co) << 2);
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
        for (let n = n0; n < n1; n++) for (let oh = 0; oh < OH; oh++) {
          const ih = oh * SH + kh - PT;
          if (ih < 0 || ih >= H) continue;
          let xp = x + (<usize>(((n * H + ih) * W + owStart * SW + kw - PL) * CI + ci) << 2);
          let dp = dy + (<usize>(((n * OH + oh) * OW + owStart) * CO + co) << 2);
          if (cn == 4 && wide) {
            // The common tile: each input float splatted straight from memory (a load, where a shuffle
            // would take a slot of the multiply and add pipes).
            const xEnd = xp + <usize>(owEnd - owStart) * xStep;
            while (xp < xEnd) {
              const d0 = v128.load(dp);
              const d1 = v128.load(dp, 16);
              let s = v128.load32_splat(xp);
              a0 = f32x4.add(a0, f32x4.mul(s, d0));
              b0 = f32x4.add(b0, f32x4.mul(s, d1));
              s = v128.load32_splat(xp, 4);
              a1 = f32x4.add(a1, f32x4.mul(s, d0));
              b1 = f32x4.add(b1, f32x4.mul(s, d1));
              s = v128.load32_splat(xp, 8);
              a2 = f32x4.add(a2, f32x4.mul(s, d0));
              b2 = f32x4.add(b2, f32x4.mul(s, d1));
              s = v128.load32_splat(xp, 12);
              a3 = f32x4.add(a3, f32x4.mul(s, d0));
              b3 = f32x4.add(b3, f32x4.mul(s, d1));
              xp += xStep;
              dp += dyStep;
            }
            continue;
          }
          for (let ow = owStart; ow < owEnd; ow++) {
            const xv = cn == 4 ? v128.load(xp) : loadPartial(xp, cn);
            const d0 = v128.load(dp);
            const d1 = wide ? v128.load(dp, 16) : f32x4.splat(0);
            const x0 = v128.shuffle<f32>(xv, xv, 0, 0, 0, 0);
            const x1 = v128.shuffle<f32>(xv, xv, 1, 1, 1, 1);
            const x2 = v128.shuffle<f32>(xv, xv, 2, 2, 2, 2);
            const x3 = v128.shuffle<f32>(xv, xv, 3, 3, 3, 3);
            a0 = f32x4.add(a0, f32x4.mul(x0, d0));
            b0 = f32x4.add(b0, f32x4.mul(x0, d1));
            a1 = f32x4.add(a1, f32x4.mul(x1, d0));
            b1 = f32x4.add(b1, f32x4.mul(x1, d1));
            a2 = f32x4.add(a2, f32x4.mul(x2, d0));
            b2 = f32x4.add(b2, f32x4.mul(x2, d1));
            a3 = f32x4.add(a3, f32x4.mul(x3, d0));
            b3 = f32x4.add(b3, f32x4.mul(x3, d1));
            xp += xStep;
            dp += dyStep;
          }
        }
        addStore(out, a0);
        if (wide) addStore(out + 16, b0);
        if (cn > 1) {
          addStore(out + dwRow, a1);
          if (wide) addStore(out + dwRow + 16, b1);
        }
        if (cn > 2) {
          addStore(out + 2 * dwRow, a2);
          if (wide) addStore(out + 2 * dwRow + 16, b2);
        }
        if (cn > 3) {
          addStore(out + 3 * dwRow, a3);
          if (wide) addStore(out + 3 * dwRow + 16, b3);
        }
      }
    }
  }
}

/**
 * The input gradient of max pooling, for any window, stride and padding: each output's gradient goes to
 * the first position holding its window's maximum (tfjs cpu's rule). Overlapping windows accumulate.
 */
export function maxPoolGrad(
  x: usize, dy: usize, dx: usize,
  N: i32, H: i32, W: i32, C: i32,
  OH: i32, OW: i32, FH: i32, FW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
): void {
  memory.fill(dx, 0, <usize>(N * H * W * C) << 2);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * SH - PT;
      const hs = max(0, h0), he = min(H, h0 + FH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * SW - PL;
        const ws = max(0, w0), we = min(W, w0 + FW);
        const dyRow = dy + (<usize>(((n * OH + oh) * OW + ow) * C) << 2);
        for (let c = 0; c < C; c++) {
          let best = -Infinity as f32;
          let bestAt: isize = -1;
          for (let h = hs; h < he; h++) {
            let p = x + (<usize>(((n * H + h) * W + ws) * C + c) << 2);
            for (let w = ws; w < we; w++) {
              const v = load<f32>(p);
              if (v > best) {
                best = v;
                bestAt = <isize>(p - x);
              }
              p += <usize>C << 2;
            }
          }
          if (bestAt >= 0) {
            const q = dx + <usize>bestAt;
            store<f32>(q, load<f32>(q) + load<f32>(dyRow + (<usize>c << 2)));
          }
        }
      }
    }
  }
}

/**
 * maxPoolGrad for non-overlapping windows (stride == window, no padding) and C % 4 == 0: four channels
 * per SIMD lane, and each input position is written exactly once, so nothing accumulates.
 */
export function maxPoolGradTiled(
  x: usize, dy: usize, dx: usize,
  N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, FH: i32, FW: i32,
): void {
  // Rows and columns no window covers get no gradient.
  if (OH * FH < H || OW * FW < W) memory.fill(dx, 0, <usize>(N * H * W * C) << 2);
  const pixel = <usize>C << 2;
  const row = <usize>(W * C) << 2;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const corner = <usize>(((n * H + oh * FH) * W + ow * FW) * C) << 2;
        const dyRow = dy + (<usize>(((n * OH + oh) * OW + ow) * C) << 2);
        for (let c: usize = 0; c < <usize>C << 2; c += 16) {
          let best = f32x4.splat(-Infinity);
          let bestAt = i32x4.splat(-1);
          let k = 0;
          for (let a = 0; a < FH; a++) {
            for (let b = 0; b < FW; b++) {
              const v = v128.load(x + corner + <usize>a * row + <usize>b * pixel + c);
              const better = f32x4.gt(v, best);
              best = v128.bitselect(v, best, better);
              bestAt = v128.bitselect(i32x4.splat(k), bestAt, better);
              k++;
            }
          }
          const g = v128.load(dyRow + c);
          k = 0;
          for (let a = 0; a < FH; a++) {
            for (let b = 0; b < FW; b++) {
              const won = i32x4.eq(bestAt, i32x4.splat(k));
              v128.store(dx + corner + <usize>a * row + <usize>b * pixel + c, v128.and(g, won));
              k++;
            }
          }
        }
      }
    }
  }
}

/**
 * Column sums of a row-major [rows, cols] matrix: out[c] = sum over r of x[r][c]. This is the bias
 * gradient (a sum over batch and space of an NHWC gradient). Rows are summed in blocks of 64 and the block
 * sums added, which keeps float32 rounding near a pairwise sum's. Requires cols % 4 == 0.
 */
export function sumLeadingAxes(x: usize, out: usize, rows: i32, cols: i32): void {
  memory.fill(out, 0, <usize>cols << 2);
  const rowBytes = <usize>cols << 2;
  for (let r0 = 0; r0 < rows; r0 += 64) {
    const r1 = min(rows, r0 + 64);
    for (let c: usize = 0; c < rowBytes; c += 16) {
      let acc = f32x4.splat(0);
      let p = x + <usize>r0 * rowBytes + c;
      for (let r = r0; r < r1; r++) {
        acc = f32x4.add(acc, v128.load(p));
        p += rowBytes;
      }
      v128.store(out + c, f32x4.add(v128.load(out + c), acc));
    }
  }
}

/**
 * One Adam step for n floats, out of place, in the operation order of tfjs's AdamOptimizer so results
 * match it: m' = m·β1 + g·(1−β1); v' = v·β2 + g²·(1−β2); w' = (m'/c1) / (sqrt(v'/c2) + ε) · (−lr) + w,
 * where c1 = 1 − β1^t and c2 = 1 − β2^t. The scalars arrive already rounded to float32.
 */
export function adamUpdate(
  w: usize, m: usize, v: usize, g: usize,
  outW: usize, outM: usize, outV: usize, n: i32,
  negLr: f32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32,
  epsilon: f32, c1: f32, c2: f32,
): void {
  const b1 = f32x4.splat(beta1), ob1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2), ob2 = f32x4.splat(oneMinusBeta2);
  const eps = f32x4.splat(epsilon), lr = f32x4.splat(negLr);
  const k1 = f32x4.splat(c1), k2 = f32x4.splat(c2);
  const vectorEnd = <usize>(n & ~3) << 2;
  let i: usize = 0;
  for (; i < vectorEnd; i += 16) {
    const gi = v128.load(g + i);
    const mi = f32x4.add(f32x4.mul(v128.load(m + i), b1), f32x4.mul(gi, ob1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + i), b2), f32x4.mul(f32x4.mul(gi, gi), ob2));
    v128.store(outM + i, mi);
    v128.store(outV + i, vi);
    const step = f32x4.div(f32x4.div(mi, k1), f32x4.add(f32x4.sqrt(f32x4.div(vi, k2)), eps));
    v128.store(outW + i, f32x4.add(f32x4.mul(step, lr), v128.load(w + i)));
  }
  for (; i < <usize>n << 2; i += 4) {
    const gi = load<f32>(g + i);
    const mi = load<f32>(m + i) * beta1 + gi * oneMinusBeta1;
    const vi = load<f32>(v + i) * beta2 + gi * gi * oneMinusBeta2;
    store<f32>(outM + i, mi);
    store<f32>(outV + i, vi);
    const step = mi / c1 / (Mathf.sqrt(vi / c2) + epsilon);
    store<f32>(outW + i, step * negLr + load<f32>(w + i));
  }
}

/**
 * BatchNorm forward in training mode over rows × C (NHWC flattened), C % 4 == 0: batch mean and biased
 * variance per channel (two passes, block-summed), then y = (x − mean) · invStd · gamma + beta, with
 * invStd = 1 / sqrt(var + eps). Writes mean, var and invStd (C floats each) for the backward pass.
 */
export function batchNormForward(
  x: usize, gamma: usize, beta: usize, y: usize,
  mean: usize, variance: usize, invStd: usize, rows: i32, C: i32, epsilon: f32,
): void {
  const rowBytes = <usize>C << 2;
  const scale = f32x4.splat(1 / <f32>rows);
  sumRowsBlocked(x, mean, rows, C, 0, 0);
  for (let c: usize = 0; c < rowBytes; c += 16) v128.store(mean + c, f32x4.mul(v128.load(mean + c), scale));
  sumRowsBlocked(x, variance, rows, C, mean, 1);
  const eps = f32x4.splat(epsilon);
  for (let c: usize = 0; c < rowBytes; c += 16) {
    const v = f32x4.mul(v128.load(variance + c), scale);
    v128.store(variance + c, v);
    v128.store(invStd + c, f32x4.div(f32x4.splat(1), f32x4.sqrt(f32x4.add(v, eps))));
  }
  for (let r = 0; r < rows; r++) {
    const row = <usize>r * rowBytes;
    for (let c: usize = 0; c < rowBytes; c += 16) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(x + row + c), v128.load(mean + c)), v128.load(invStd + c));
      v128.store(y + row + c, f32x4.add(f32x4.mul(xhat, v128.load(gamma + c)), v128.load(beta + c)));
    }
  }
}

/**
 * Column sums in blocks of 64 rows: out[c] = Σ x[r][c] (mode 0) or Σ (x[r][c] − center[c])² (mode 1).
 */
function sumRowsBlocked(x: usize, out: usize, rows: i32, C: i32, center: usize, mode: i32): void {
  const rowBytes = <usize>C << 2;
  memory.fill(out, 0, rowBytes);
  for (let r0 = 0; r0 < rows; r0 += 64) {
    const r1 = min(rows, r0 + 64);
    for (let c: usize = 0; c < rowBytes; c += 16) {
      let acc = f32x4.splat(0);
      const mu = mode == 1 ? v128.load(center + c) : f32x4.splat(0);
      let p = x + <usize>r0 * rowBytes + c;
      for (let r = r0; r < r1; r++) {
        const d = f32x4.sub(v128.load(p), mu);
        acc = f32x4.add(acc, mode == 1 ? f32x4.mul(d, d) : d);
        p += rowBytes;
      }
      v128.store(out + c, f32x4.add(v128.load(out + c), acc));
    }
  }
}

/**
 * BatchNorm backward (training mode, batch statistics), C % 4 == 0. With xhat = (x − mean) · invStd and
 * M = rows: dbeta = Σ dy, dgamma = Σ dy · xhat, dx = gamma · invStd / M · (M · dy − dbeta − xhat · dgamma).
 */
export function batchNormBackward(
  dy: usize, x: usize, mean: usize, invStd: usize, gamma: usize,
  dx: usize, dgamma: usize, dbeta: usize, rows: i32, C: i32,
): void {
  const rowBytes = <usize>C << 2;
  memory.fill(dgamma, 0, rowBytes);
  memory.fill(dbeta, 0, rowBytes);
  for (let r0 = 0; r0 < rows; r0 += 64) {
    const r1 = min(rows, r0 + 64);
    for (let c: usize = 0; c < rowBytes; c += 16) {
      let sb = f32x4.splat(0);
      let sg = f32x4.splat(0);
      const mu = v128.load(mean + c);
      const inv = v128.load(invStd + c);
      for (let r = r0; r < r1; r++) {
        const at = <usize>r * rowBytes + c;
        const g = v128.load(dy + at);
        sb = f32x4.add(sb, g);
        sg = f32x4.add(sg, f32x4.mul(g, f32x4.mul(f32x4.sub(v128.load(x + at), mu), inv)));
      }
      v128.store(dbeta + c, f32x4.add(v128.load(dbeta + c), sb));
      v128.store(dgamma + c, f32x4.add(v128.load(dgamma + c), sg));
    }
  }
  const m = f32x4.splat(<f32>rows);
  const invM = f32x4.splat(1 / <f32>rows);
  for (let r = 0; r < rows; r++) {
    const row = <usize>r * rowBytes;
    for (let c: usize = 0; c < rowBytes; c += 16) {
      const inv = v128.load(invStd + c);
      const xhat = f32x4.mul(f32x4.sub(v128.load(x + row + c), v128.load(mean + c)), inv);
      const inner = f32x4.sub(
        f32x4.sub(f32x4.mul(m, v128.load(dy + row + c)), v128.load(dbeta + c)),
        f32x4.mul(xhat, v128.load(dgamma + c)),
      );
      v128.store(dx + row + c, f32x4.mul(f32x4.mul(f32x4.mul(v128.load(gamma + c), inv), invM), inner));
    }
  }
}

/**
 * tfjs's ReLU gradient, dx = dy · step(x), in one pass instead of its Step, Cast and Multiply kernels:
 * step(x) is 1 for x > 0, NaN for a NaN x and 0 otherwise, and the product is taken as tfjs takes it, so
 * the bits are the same (−0 and NaN included).
 */
export function reluGrad(dy: usize, x: usize, dx: usize, n: i32): void {
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const bytes = <usize>n << 2;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) {
    const xv = v128.load(x + i);
    const s = v128.bitselect(xv, v128.bitselect(one, zero, f32x4.gt(xv, zero)), f32x4.ne(xv, xv));
    v128.store(dx + i, f32x4.mul(v128.load(dy + i), s));
  }
  for (; i < bytes; i += 4) {
    const xi = load<f32>(x + i);
    const s: f32 = xi > 0 ? 1 : xi != xi ? xi : 0;
    store<f32>(dx + i, load<f32>(dy + i) * s);
  }
}

/** dst[b][c][r] = src[b][r][c] for `batches` row-major [rows, cols] matrices, in 16×16 tiles for the cache. */
export function transposeLastTwo(src: usize, dst: usize, batches: i32, rows: i32, cols: i32): void {
  const plane = <usize>(rows * cols) << 2;
  for (let b = 0; b < batches; b++) {
    const s = src + <usize>b * plane;
    const d = dst + <usize>b * plane;
    for (let r0 = 0; r0 < rows; r0 += 16) {
      const r1 = min(rows, r0 + 16);
      for (let c0 = 0; c0 < cols; c0 += 16) {
        const c1 = min(cols, c0 + 16);
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) {
            store<f32>(d + (<usize>(c * rows + r) << 2), load<f32>(s + (<usize>(r * cols + c) << 2)));
          }
        }
      }
    }
  }
}

export {
  im2colBlocked,
  gatherValues,
  sparseConvForward,
  gradToBlocked,
  blockedBiasGrad,
  sparseConvWeightGrad,
  zeroFill,
  sparseConvInputGrad,
  adamUpdateAt,
  momentumUpdateAt,
  sumSquaresAt,
} from './sparse';

export { packTransposed, convInputGradPrepare, convInputGradBlocks } from './conv';
