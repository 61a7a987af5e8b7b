// The input gradient of a dense convolution, NHWC: a register-blocked product of 4 pixels × 8 channels.
//
// dx = Σ over taps of (dy · wᵀ) shifted to where each tap looked: for a tile of 4 output pixels (rows of
// dy, CO floats each, contiguous) and 8 input channels, the inner loop loads 8 packed weights (two
// vectors), splats one dy float per pixel straight from memory (`v128.load32_splat`, one vbroadcastss)
// and does eight multiply-adds into eight accumulators: 8 + 2 + 4 + 1 temporary = 15 vector registers,
// all V8 allocates on x64 (TurboFan issues a step's six loads before its arithmetic), so nothing spills.
// Unrolling the loop by four made TurboFan hoist all 24 loads and spill: 0.75× as fast. The finished
// tile is added into dx at the tap's position (bounds checked per pixel).

/**
 * Packs a [T, CI, CO] filter (T = KH·KW taps) for the input gradient: per tap, the transposed [CO, CI]
 * matrix in blocks of 8 columns (ci), packed[t][cb][co][j] = w[t][8·cb + j][co], zeros past CI.
 */
export function packTransposed(w: usize, packed: usize, T: i32, CI: i32, CO: i32): void {
  const blocks = (CI + 7) >> 3;
  const coBytes = <usize>CO << 2;
  let dst = packed;
  for (let t = 0; t < T; t++) {
    for (let cb = 0; cb < blocks; cb++) {
      const ci0 = cb << 3;
      const width = min(8, CI - ci0);
      const rows = w + (<usize>(t * CI + ci0) * coBytes);
      for (let co = 0; co < CO; co++) {
        let src = rows + (<usize>co << 2);
        for (let j = 0; j < 8; j++) {
          store<f32>(dst + (<usize>j << 2), j < width ? load<f32>(src) : 0);
          src += coBytes;
        }
        dst += 32;
      }
    }
  }
}

/** dx[at .. at + 8) += (a, b), or only the first `width` floats of it. */
@inline
function addTile(at: usize, a: v128, b: v128, width: i32): void {
  if (width == 8) {
    v128.store(at, f32x4.add(v128.load(at), a));
    v128.store(at, f32x4.add(v128.load(at, 16), b), 16);
    return;
  }
  for (let j = 0; j < width; j++) {
    const v = j < 4 ? a : b;
    const lane = j & 3;
    const value = lane == 0 ? f32x4.extract_lane(v, 0)
      : lane == 1 ? f32x4.extract_lane(v, 1)
      : lane == 2 ? f32x4.extract_lane(v, 2)
      : f32x4.extract_lane(v, 3);
    store<f32>(at + (<usize>j << 2), load<f32>(at + (<usize>j << 2)) + value);
  }
}

/**
 * Adds one tile's partial sums for tap (kh, kw) into dx at the input position the output pixel saw,
 * if that position is inside the image. `corners` holds per pixel (byte offset of its window corner in
 * dx, corner row, corner column); the corner may lie in the padding.
 */
@inline
function scatterRow(
  dx: usize, corners: usize, p: i32, kh: i32, kw: i32, H: i32, W: i32, tapBytes: usize,
  a: v128, b: v128, width: i32,
): void {
  const entry = corners + <usize>(p * 12);
  const ih = load<i32>(entry, 4) + kh;
  const iw = load<i32>(entry, 8) + kw;
  if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
    addTile(<usize>(<i32>dx + load<i32>(entry)) + tapBytes, a, b, width);
  }
}

/**
 * Zeroes dx [N, H, W, CI] and writes `corners` (3 i32 per output pixel p = (n·OH + oh)·OW + ow: the byte
 * offset in dx of its window's corner, which may lie in the padding, the corner's row and its column)
 * for {@link convInputGradBlocks}. Takes the same geometry as that kernel (CO, KH and KW unused).
 */
export function convInputGradPrepare(
  dx: usize, corners: usize,
  N: i32, H: i32, W: i32, CI: i32, OH: i32, OW: i32, CO: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
): void {
  memory.fill(dx, 0, <usize>(N * H * W * CI) << 2);
  let entry = corners;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const ih = oh * SH - PT;
        const iw = ow * SW - PL;
        store<i32>(entry, ((n * H + ih) * W + iw) * CI * 4);
        store<i32>(entry, ih, 4);
        store<i32>(entry, iw, 8);
        entry += 12;
      }
    }
  }
}

/** Output pixels per block of {@link convInputGradBlocks}: their dy rows stay in cache (a multiple of 4). */
const PIXEL_BLOCK = 256;

/**
 * The input gradient of a convolution, any stride and padding, for the input channels of blocks
 * [cb0, cb1) of 8: for every output pixel p and tap (kh, kw),
 * dx[n][oh·SH + kh − PT][ow·SW + kw − PL][ci] += Σ_co dy[p][co] · w[kh][kw][ci][co]. The products of
 * 4 pixels × 8 input channels are summed in registers over CO and added into dx at once (a col2im fused
 * into the product: the [P, KH·KW·CI] matrix of partial sums never exists, and no multiply-add falls on
 * padding). `packed` comes from {@link packTransposed}, dx and `corners` from
 * {@link convInputGradPrepare}. Disjoint block ranges write disjoint dx entries, each summed in the same
 * order whatever the split (threads give bit-identical results).
 */
export function convInputGradBlocks(
  dy: usize, packed: usize, dx: usize, corners: usize,
  N: i32, H: i32, W: i32, CI: i32, OH: i32, OW: i32, CO: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32,
  cb0: i32, cb1: i32,
): void {
  const P = N * OH * OW;
  const blocks = (CI + 7) >> 3;
  const rowBytes = <usize>CO << 2;
  const blockBytes = <usize>CO << 5;
  const last = P - 1;
  for (let pb = 0; pb < P; pb += PIXEL_BLOCK) {
    const pe = min(P, pb + PIXEL_BLOCK);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const tapBytes = <usize>((kh * W + kw) * CI) << 2;
        const tapPacked = packed + <usize>((kh * KW + kw) * blocks) * blockBytes;
        for (let cb = cb0; cb < cb1; cb++) {
          const width = min(8, CI - (cb << 3));
          const block = tapPacked + <usize>cb * blockBytes;
          const at = dx + (<usize>(cb << 3) << 2);
          for (let p0 = pb; p0 < pe; p0 += 4) {
            // A tile past the last pixel repeats it; only the real rows are added.
            let q0 = dy + <usize>p0 * rowBytes;
            let q1 = dy + <usize>min(p0 + 1, last) * rowBytes;
            let q2 = dy + <usize>min(p0 + 2, last) * rowBytes;
            let q3 = dy + <usize>min(p0 + 3, last) * rowBytes;
            let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
            let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
            let wp = block;
            const end = q0 + rowBytes;
            while (q0 < end) {
              const b0 = v128.load(wp);
              const b1 = v128.load(wp, 16);
              let s = v128.load32_splat(q0);
              c00 = f32x4.add(c00, f32x4.mul(s, b0));
              c01 = f32x4.add(c01, f32x4.mul(s, b1));
              s = v128.load32_splat(q1);
              c10 = f32x4.add(c10, f32x4.mul(s, b0));
              c11 = f32x4.add(c11, f32x4.mul(s, b1));
              s = v128.load32_splat(q2);
              c20 = f32x4.add(c20, f32x4.mul(s, b0));
              c21 = f32x4.add(c21, f32x4.mul(s, b1));
              s = v128.load32_splat(q3);
              c30 = f32x4.add(c30, f32x4.mul(s, b0));
              c31 = f32x4.add(c31, f32x4.mul(s, b1));
              q0 += 4;
              q1 += 4;
              q2 += 4;
              q3 += 4;
              wp += 32;
            }
            scatterRow(at, corners, p0, kh, kw, H, W, tapBytes, c00, c01, width);
            if (p0 + 1 < P) scatterRow(at, corners, p0 + 1, kh, kw, H, W, tapBytes, c10, c11, width);
            if (p0 + 2 < P) scatterRow(at, corners, p0 + 2, kh, kw, H, W, tapBytes, c20, c21, width);
            if (p0 + 3 < P) scatterRow(at, corners, p0 + 3, kh, kw, H, W, tapBytes, c30, c31, width);
          }
        }
      }
    }
  }
}
