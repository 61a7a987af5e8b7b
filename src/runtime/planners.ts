// One planner per op: each turns a node into a step of WebAssembly kernel calls over the buffers it holds.
import { samePadBefore } from '../graph/shapes.js';
import { toCsr } from '../graph/matrix.js';
import type { GraphNode, NodeOf } from '../graph/types.js';
import {
  roundUp,
  storedDense,
  uploadCsr,
  uploadDense,
  uploadWeight,
  type UploadedWeight,
} from './arena.js';
import type { PlanContext, Planner, PlannerTable, Step } from './plan.js';

const isImage = (ctx: PlanContext, name: string): boolean => ctx.shape(name).length === 3;

/** Padding before the data along one axis: tfjs's rule for 'same', none for 'valid'. */
const padBefore = (padding: 'same' | 'valid', n: number, k: number, s: number): number =>
  padding === 'same' ? samePadBefore(n, k, s) : 0;

/**
 * Conv2d: a sparse weight convolves its input laid out for it, with no im2col (`directConv`); a dense one
 * goes through im2col and the dense multiply (`im2colConv`).
 */
const conv2d: Planner<'conv2d'> = (node, ctx) => {
  const epilogue = planEpilogue(node, ctx);
  const run = storedDense(node.weight, ctx.denseThreshold)
    ? im2colConv(
        node,
        uploadDense(ctx.arena, node.weight, node.bias, `node "${node.name}"`),
        ctx,
        epilogue,
      )
    : directConv(node, ctx, epilogue);
  if (node.activation !== 'softmax') return { node: node.name, stage: 'image', run };
  const out = ctx.image(node.name);
  return {
    node: node.name,
    stage: 'image',
    run: () => {
      run();
      softmaxLanes(ctx.arena.f32(), out.at / 4, out.c, out.plane, out.plane);
    },
  };
};

/** What a conv's kernel does as it stores its result: byte offsets, 0 for none (kernels.ts, EpilogueArgs). */
type Epilogue = [residual: number, scale: number, shift: number, second: number];
const NO_EPILOGUE: Epilogue = [0, 0, 0, 0];

/**
 * The conv's epilogue, and the later nodes it computes besides its own (WRN's blocks):
 * - a residual add: when the conv is linear and only an add reads it, and the add's other input is
 *   computed before the conv, the conv adds that input as it stores and the add shares its output with no
 *   step of its own (a pass that read two images and wrote one);
 * - the next layer's BatchNorm + ReLU: when that result is read by a BatchNorm that only a ReLU reads, the
 *   conv writes the ReLU's output too, from each row it has just stored, and the ReLU has no step (a pass
 *   over an image that had left L1).
 */
function planEpilogue(node: NodeOf<'conv2d'>, ctx: PlanContext): Epilogue {
  if (node.activation === 'softmax') return NO_EPILOGUE;
  const add = residualAdd(node, ctx);
  let residual = 0;
  if (add) {
    ctx.fuse(add.name, node.name);
    residual = ctx.image(add.other).at;
  }
  const bn = ctx.readers(add?.name ?? node.name).find((r) => feedsOnlyRelu(r, ctx));
  if (bn?.op !== 'batchNorm') return [residual, 0, 0, 0];
  const { scale, shift } = uploadAffine(bn, ctx);
  return [residual, scale, shift, ctx.claim(ctx.readers(bn.name)[0]!.name).at];
}

/** The add that a linear conv can compute in its epilogue, and the add's other input (planned already). */
function residualAdd(
  node: NodeOf<'conv2d'>,
  ctx: PlanContext,
): { name: string; other: string } | undefined {
  const readers = ctx.readers(node.name);
  const add = readers[0];
  if (node.activation !== 'linear' || ctx.isOutput(node.name) || readers.length !== 1) return;
  if (add?.op !== 'add') return;
  const other = add.inputs[0] === node.name ? add.inputs[1] : add.inputs[0];
  return other !== node.name && ctx.planned(other) ? { name: add.name, other } : undefined;
}

/** The conv's geometry on its input: output size, kernel, strides and the padding before the data. */
function convGeometry(node: NodeOf<'conv2d'>, ctx: PlanContext) {
  const inp = ctx.image(node.input);
  const out = ctx.image(node.name);
  const [kh, kw] = node.kernelSize;
  const [sh, sw] = node.strides;
  const pt = padBefore(node.padding, inp.h, kh, sh);
  const pl = padBefore(node.padding, inp.w, kw, sw);
  return { inp, out, kh, kw, sh, sw, pt, pl, relu: node.activation === 'relu' ? 1 : 0 };
}

/** Where a direct conv reads its input: how it is laid out, and the byte offset of each nonzero's window. */
interface DirectLayout {
  /** Output pixels computed per channel: OH·OW, or OH·WQ when the rows are cropped after. */
  readonly pixels: number;
  /** Byte offset, in the laid-out input, of the window that nonzero (ci, ky, kx) reads. */
  offset(ci: number, ky: number, kx: number): number;
  /** The laid-out input's offset. */
  readonly source: number;
  /** Lays the input out before each run (nothing when the input buffer is read as it is). */
  prepare(): void;
  /** Whether each output row holds WQ − OW extra pixels that `compactRows` drops. */
  readonly cropped: boolean;
}

type ConvGeometry = ReturnType<typeof convGeometry>;

/**
 * The padded input's geometry: HQ rows of WQ floats per plane, `plane` floats apart. Strided convs split
 * the padded input into SH·SW phase planes of WQ = OW + (KW − 1) / SW columns. At stride 1 the left and
 * right padding share their zeros: each row holds Z = max(PL, PR) zeros then the W input floats, so a read
 * left of column 0 lands in the row's own zeros and a read right of column W − 1 in the next row's
 * (WQ = W + Z instead of W + PL + PR: for 3×3 'same', one wasted output column per row instead of two).
 */
function paddedGeometry(g: ConvGeometry) {
  const { inp, out, kh, kw, sh, sw, pl } = g;
  const hq = out.h + Math.floor((kh - 1) / sh);
  if (sh > 1 || sw > 1) {
    const wq = out.w + Math.floor((kw - 1) / sw);
    return { hq, wq, zeros: 0, plane: hq * wq, padded: true };
  }
  const zeros = Math.max(0, pl, out.w + kw - 1 - pl - inp.w);
  const wq = inp.w + zeros;
  // The last row's right padding is the first zeros of a row past the plane.
  return { hq, wq, zeros, plane: hq * wq + zeros, padded: hq !== inp.h || zeros > 0 };
}

/**
 * The input laid out by `paddedGeometry`: each nonzero (ci, ky, kx) reads one (phase) plane shifted by
 * (ky / SH, kx / SW). Output rows are WQ wide, the last WQ − OW pixels dropped. Stride 1 copies only the
 * input rows (the padding is zeroed once); without padding (1×1 stride-1 kernels) the input buffer is
 * read as it is.
 */
function paddedLayout(g: ConvGeometry, ctx: PlanContext, name: string): DirectLayout {
  const { inp, out, sh, sw, pt, pl } = g;
  const { hq, wq, zeros, plane, padded } = paddedGeometry(g);
  const strided = sh > 1 || sw > 1;
  const floats = sh * sw * inp.c * plane;
  const at = padded ? ctx.arena.alloc(floats * 4, `node "${name}" padding`) : inp.at;
  // Zeroed once here: at stride 1 the padding is never written again.
  if (padded) ctx.arena.f32().fill(0, at / 4, at / 4 + floats);
  const k = ctx.kernels;
  const first = pt * wq + zeros;
  return {
    pixels: out.h * wq,
    offset: (ci, ky, kx) => {
      if (!strided) return (ci * plane + ky * wq + zeros + kx - pl) * 4;
      const phase = (ky % sh) * sw + (kx % sw);
      return (((phase * inp.c + ci) * hq + Math.floor(ky / sh)) * wq + Math.floor(kx / sw)) * 4;
    },
    source: at,
    prepare: strided
      ? () => k.gatherPhases(inp.at, at, inp.c, inp.h, inp.w, pt, pl, sh, sw, hq, wq)
      : padded
        ? () => k.padInterior(inp.at, at, inp.c, inp.h, inp.w, first, wq, plane)
        : () => undefined,
    cropped: wq !== out.w,
  };
}

/**
 * KW column-shifted copies of the input (per row phase when strided; `gatherShifted`): plane (a, kx, ci)
 * holds rows a, a + SH, ... of the padded input, columns kx, kx + SW, ... up to OW of them. A nonzero
 * (ci, ky, kx) reads plane (ky mod SH, kx, ci) from row ky / SH on, and output rows need no cropping.
 */
function shiftedLayout(g: ConvGeometry, ctx: PlanContext, name: string): DirectLayout {
  const { inp, out, kh, kw, sh, sw, pt, pl } = g;
  const ah = Math.min(sh, kh);
  const hq = out.h + Math.floor((kh - 1) / sh);
  const floats = ah * kw * inp.c * hq * out.w;
  const at = ctx.arena.alloc(floats * 4, `node "${name}" shifted input`);
  // Zeroed once here: the cells outside the input are never written.
  ctx.arena.f32().fill(0, at / 4, at / 4 + floats);
  const k = ctx.kernels;
  return {
    pixels: out.h * out.w,
    offset: (ci, ky, kx) =>
      ((((ky % sh) * kw + kx) * inp.c + ci) * hq + Math.floor(ky / sh)) * out.w * 4,
    source: at,
    prepare: () =>
      k.gatherShifted(inp.at, at, inp.c, inp.h, inp.w, pt, pl, sh, sw, ah, kw, hq, out.w),
    cropped: false,
  };
}

/**
 * Cost of one output row of P pixels in `sparseConvDirect`, in passes over the row's nonzeros: blocks of
 * 7 vectors, the last one of 7, 5, 4 or 2 (the 4- and 2-vector ones take two or four nonzeros per pass, so
 * they cost more than their share of vectors; 5 vectors measured 0.75-0.8 of a 7-vector block).
 */
const passes = (pixels: number): number => {
  const rest = pixels % 28;
  return (
    Math.floor(pixels / 28) +
    (rest > 20 ? 1 : rest > 16 ? 0.8 : rest > 8 ? 0.9 : rest > 0 ? 0.6 : 0)
  );
};

/** What copying one row of floats costs, in passes over a nonzero (a call's setup dominates short rows). */
const ROW_COPY_COST = 4;

/**
 * The cheaper layout for a conv with `nnz` nonzeros: the padded planes compute WQ − OW wasted pixels per
 * output row and copy the input rows once (and the output rows again when cropped); the shifted copies
 * compute no wasted pixel but copy each input row KW times. The weights of `passes` and ROW_COPY_COST were
 * fitted to per-layer A/B measurements of both layouts on paper-cnn-wide and WRN-16-2 (docs/DECISIONS.md).
 */
function chooseLayout(g: ConvGeometry, nnz: number): 'padded' | 'shifted' {
  const { inp, out, kh, kw, sh, sw } = g;
  const { hq, wq, padded } = paddedGeometry(g);
  const strided = sh > 1 || sw > 1;
  const paddedRows =
    (strided ? sh * sw * inp.c * hq : padded ? inp.c * inp.h : 0) +
    (wq !== out.w ? out.c * out.h : 0);
  const paddedCost = nnz * passes(out.h * wq) + ROW_COPY_COST * paddedRows;
  // Only the rows that come from the input are copied (the padding rows stay zero).
  const shiftedRows = Math.min(sh, kh) * kw * inp.c * Math.min(hq, Math.ceil(inp.h / sh));
  const shiftedCost = nnz * passes(out.h * out.w) + ROW_COPY_COST * shiftedRows;
  return shiftedCost < paddedCost ? 'shifted' : 'padded';
}

/**
 * Sparse conv without im2col: the input laid out (padded planes or shifted copies, whichever costs less)
 * so that every nonzero (ci, ky, kx) reads it at a byte offset fixed at plan time. The kernel runs the
 * epilogue, or the copy that crops the rows does.
 */
function directConv(node: NodeOf<'conv2d'>, ctx: PlanContext, epilogue: Epilogue): () => void {
  const { kernels: k, arena } = ctx;
  const g = convGeometry(node, ctx);
  const { out, kh, kw, relu } = g;
  const csr = toCsr(node.weight);
  const layout =
    chooseLayout(g, csr.values.length) === 'shifted'
      ? shiftedLayout(g, ctx, node.name)
      : paddedLayout(g, ctx, node.name);
  const offsets = new Uint32Array(csr.colIdx.length);
  for (let i = 0; i < offsets.length; i++) {
    const col = csr.colIdx[i]!;
    offsets[i] = layout.offset(Math.floor(col / (kh * kw)), Math.floor(col / kw) % kh, col % kw);
  }
  // The kernel reads each nonzero's input offset in place of its column index.
  const weight = uploadCsr(arena, csr, node.bias, `node "${node.name}"`, offsets);
  const { rowPtr, columns: offsetsAt, values, rows, bias } = weight;
  const P = layout.pixels;
  const source = layout.source;
  const scratch = ctx.scratch;
  const [residual, scale, shift, second] = epilogue;
  const fused = epilogue.some((at) => at !== 0);
  if (layout.cropped) {
    // The copy that crops the rows runs the epilogue.
    scratch.floats = Math.max(scratch.floats, out.c * P);
    const wq = P / out.h;
    return () => {
      layout.prepare();
      k.sparseConvDirect(rowPtr, offsetsAt, values, rows, source, P, bias, relu, scratch.at, P);
      if (!fused) k.compactRows(scratch.at, out.at, out.c * out.h, wq, out.w);
      else
        k.compactRowsEpilogue(
          scratch.at,
          out.at,
          out.c,
          out.h,
          wq,
          out.w,
          residual,
          scale,
          shift,
          second,
        );
    };
  }
  if (!fused)
    return () => {
      layout.prepare();
      k.sparseConvDirect(rowPtr, offsetsAt, values, rows, source, P, bias, relu, out.at, P);
    };
  return () => {
    layout.prepare();
    k.sparseConvDirectEpilogue(
      rowPtr,
      offsetsAt,
      values,
      rows,
      source,
      P,
      bias,
      relu,
      out.at,
      P,
      residual,
      scale,
      shift,
      second,
    );
  };
}

/**
 * A dense-weight conv (WRN's first conv and 1×1 shortcuts, every conv of a dense model): im2col of the
 * image into the shared scratch, then the dense multiply. A 1×1 stride-1 conv's im2col rows are its input
 * planes, so the multiply reads them in place (its 16-pixel blocks read past a plane's end into the next
 * plane or the buffer's slack, and store only OH·OW pixels). The multiply runs the epilogue.
 */
function im2colConv(
  node: NodeOf<'conv2d'>,
  weight: Extract<UploadedWeight, { kind: 'dense' }>,
  ctx: PlanContext,
  epilogue: Epilogue,
): () => void {
  const { kernels: k } = ctx;
  const { inp, out, kh, kw, sh, sw, pt, pl, relu } = convGeometry(node, ctx);
  const inPlace = kh === 1 && kw === 1 && sh === 1 && sw === 1;
  const colStride = inPlace ? inp.plane : roundUp(out.plane, 16); // 16-wide SIMD blocks
  const scratch = ctx.scratch;
  if (!inPlace) scratch.floats = Math.max(scratch.floats, weight.cols * colStride);
  const { values, rows, cols: inner, bias } = weight;
  const [residual, scale, shift, second] = epilogue;
  const multiply = epilogue.some((at) => at !== 0)
    ? (colsAt: number) =>
        k.gemmEpilogue(
          values,
          rows,
          inner,
          colsAt,
          colStride,
          out.plane,
          bias,
          1,
          relu,
          out.at,
          out.plane,
          residual,
          scale,
          shift,
          second,
        )
    : (colsAt: number) =>
        k.gemm(values, rows, inner, colsAt, colStride, out.plane, bias, 1, relu, out.at, out.plane);
  if (inPlace) return () => multiply(inp.at);
  return () => {
    k.im2col(
      inp.at,
      scratch.at,
      inp.c,
      inp.h,
      inp.w,
      out.h,
      out.w,
      kh,
      kw,
      sh,
      sw,
      pt,
      pl,
      colStride,
    );
    multiply(scratch.at);
  };
}

/** Dense: the batch on the SIMD lanes, CSR (or dense) weight times the feature rows. */
const dense: Planner<'dense'> = (node, ctx) => {
  const { kernels: k, arena, lanes } = ctx;
  const x = ctx.features(node.input);
  const out = ctx.features(node.name);
  const w = uploadWeight(arena, node.weight, node.bias, ctx.denseThreshold, `node "${node.name}"`);
  const relu = node.activation === 'relu' ? 1 : 0;
  const softmax = node.activation === 'softmax';
  const scratch = ctx.scratch;
  scratch.floats = Math.max(scratch.floats, x.rows);
  return {
    node: node.name,
    stage: 'batch',
    run: (_image, batch) => {
      const stride = lanes.stride;
      if (w.kind === 'csr' && batch === 1) {
        // One image: its lane copied into a contiguous vector (the lanes are 64 bytes apart, one cache line
        // per feature), then four inputs gathered per SIMD multiply instead of one lane of four.
        k.compactRows(x.at, scratch.at, x.rows, stride, 1);
        k.spmv(w.rowPtr, w.columns, w.values, w.rows, scratch.at, 1, w.bias, relu, out.at, stride);
      } else if (w.kind === 'csr')
        k.spmm(
          w.rowPtr,
          w.columns,
          w.values,
          w.rows,
          x.at,
          stride,
          batch,
          w.bias,
          1,
          relu,
          out.at,
          stride,
        );
      else k.gemm(w.values, w.rows, w.cols, x.at, stride, batch, w.bias, 1, relu, out.at, stride);
      if (softmax) softmaxLanes(arena.f32(), out.at / 4, out.rows, stride, batch);
    },
  };
};

const pool: Planner<'maxPool' | 'avgPool'> = (node, ctx) => {
  const inp = ctx.image(node.input);
  const out = ctx.image(node.name);
  const [ph, pw] = node.poolSize;
  const [sh, sw] = node.strides;
  const pt = padBefore(node.padding, inp.h, ph, sh);
  const pl = padBefore(node.padding, inp.w, pw, sw);
  const isMax = node.op === 'maxPool' ? 1 : 0;
  const k = ctx.kernels;
  return {
    node: node.name,
    stage: 'image',
    run: () =>
      k.pool(inp.at, out.at, out.c, inp.h, inp.w, out.h, out.w, ph, pw, sh, sw, pt, pl, isMax),
  };
};

/** Inference BatchNorm's per-channel scale and shift, uploaded: y = x · scale + shift. */
function uploadAffine(
  node: NodeOf<'batchNorm'>,
  ctx: PlanContext,
): { scale: number; shift: number } {
  const scale = new Float32Array(node.gamma.length);
  const shift = new Float32Array(node.gamma.length);
  for (let c = 0; c < scale.length; c++) {
    scale[c] = node.gamma[c]! / Math.sqrt(node.movingVariance[c]! + node.epsilon);
    shift[c] = node.beta[c]! - node.movingMean[c]! * scale[c]!;
  }
  return {
    scale: ctx.arena.upload(scale, `node "${node.name}" scale`),
    shift: ctx.arena.upload(shift, `node "${node.name}" shift`),
  };
}

/**
 * Whether `node` is a BatchNorm on images read only by a ReLU (WRN's pre-activations): the ReLU then runs
 * both in one pass, and the BatchNorm has no step of its own.
 */
function feedsOnlyRelu(node: GraphNode, ctx: PlanContext): boolean {
  return (
    node.op === 'batchNorm' &&
    isImage(ctx, node.name) &&
    !ctx.isOutput(node.name) &&
    ctx.readers(node.name).length === 1 &&
    ctx.readers(node.name)[0]!.op === 'relu'
  );
}

/** Inference BatchNorm as a per-channel affine map, on images (C planes) or feature rows. */
const batchNorm: Planner<'batchNorm'> = (node, ctx) => {
  if (feedsOnlyRelu(node, ctx)) return undefined;
  const { kernels: k, lanes } = ctx;
  const { scale, shift } = uploadAffine(node, ctx);
  if (isImage(ctx, node.name)) {
    const inp = ctx.image(node.input);
    const out = ctx.image(node.name);
    return {
      node: node.name,
      stage: 'image',
      run: () => k.channelAffine(inp.at, out.at, out.c, out.plane, scale, shift, 0),
    };
  }
  const x = ctx.features(node.input);
  const out = ctx.features(node.name);
  return {
    node: node.name,
    stage: 'batch',
    run: () => k.channelAffine(x.at, out.at, out.rows, lanes.stride, scale, shift, 0),
  };
};

/** ReLU in one pass from its input, or from the input of a BatchNorm that only it reads. */
const relu: Planner<'relu'> = (node, ctx) => {
  const { kernels: k, lanes } = ctx;
  const producer = ctx.node(node.input);
  if (producer.op === 'batchNorm' && feedsOnlyRelu(producer, ctx)) {
    const { scale, shift } = uploadAffine(producer, ctx);
    const inp = ctx.image(producer.input);
    const out = ctx.image(node.name);
    return {
      node: node.name,
      stage: 'image',
      run: () => k.channelAffine(inp.at, out.at, out.c, out.plane, scale, shift, 1),
    };
  }
  if (isImage(ctx, node.name)) {
    const inp = ctx.image(node.input);
    const out = ctx.image(node.name);
    return { node: node.name, stage: 'image', run: () => k.reluArrays(inp.at, out.at, out.size) };
  }
  const x = ctx.features(node.input);
  const out = ctx.features(node.name);
  return {
    node: node.name,
    stage: 'batch',
    run: () => k.reluArrays(x.at, out.at, out.rows * lanes.stride),
  };
};

const softmax: Planner<'softmax'> = (node, ctx) => {
  const { arena, lanes } = ctx;
  if (isImage(ctx, node.name)) {
    const inp = ctx.image(node.input);
    const out = ctx.image(node.name);
    return {
      node: node.name,
      stage: 'image',
      run: () => {
        const f = arena.f32();
        f.copyWithin(out.at / 4, inp.at / 4, inp.at / 4 + out.size);
        softmaxLanes(f, out.at / 4, out.c, out.plane, out.plane);
      },
    };
  }
  const x = ctx.features(node.input);
  const out = ctx.features(node.name);
  return {
    node: node.name,
    stage: 'batch',
    run: (_image, batch) => {
      const f = arena.f32();
      f.copyWithin(out.at / 4, x.at / 4, x.at / 4 + out.rows * lanes.stride);
      softmaxLanes(f, out.at / 4, out.rows, lanes.stride, batch);
    },
  };
};

const add: Planner<'add'> = (node, ctx) => {
  const { kernels: k, lanes } = ctx;
  const [a, b] = node.inputs;
  if (isImage(ctx, node.name)) {
    const x = ctx.image(a);
    const y = ctx.image(b);
    const out = ctx.image(node.name);
    return {
      node: node.name,
      stage: 'image',
      run: () => k.addArrays(x.at, y.at, out.at, out.size, 0),
    };
  }
  const x = ctx.features(a);
  const y = ctx.features(b);
  const out = ctx.features(node.name);
  return {
    node: node.name,
    stage: 'batch',
    run: () => k.addArrays(x.at, y.at, out.at, out.rows * lanes.stride, 0),
  };
};

/**
 * Flatten and global average pooling end the image stage: per image, CHW planes become lane `image` of
 * feature rows (NHWC order for flatten, channel means for GAP).
 */
const toFeatures: Planner<'flatten' | 'globalAvgPool'> = (node, ctx): Step => {
  const { arena, lanes } = ctx;
  if (!isImage(ctx, node.input)) {
    // Only flatten gets here (validation gives global pooling an image): on features it is a copy.
    const x = ctx.features(node.input);
    const out = ctx.features(node.name);
    return {
      node: node.name,
      stage: 'batch',
      run: () => arena.f32().copyWithin(out.at / 4, x.at / 4, x.at / 4 + out.rows * lanes.stride),
    };
  }
  const inp = ctx.image(node.input);
  const out = ctx.features(node.name);
  const mean = node.op === 'globalAvgPool' ? 1 : 0;
  const k = ctx.kernels;
  return {
    node: node.name,
    stage: 'image',
    run: (image) =>
      k.toFeatureLane(inp.at, inp.c, inp.plane, mean, out.at + image * 4, lanes.stride),
  };
};

/** The planner of every op. Adding an op: its planner here, its reference op, its shape rule and codec entry. */
export const planners: PlannerTable = {
  // The plan itself copies the input in; the node needs no step.
  input: () => undefined,
  conv2d,
  dense,
  batchNorm,
  maxPool: pool,
  avgPool: pool,
  globalAvgPool: toFeatures,
  flatten: toFeatures,
  relu,
  softmax,
  add,
};

/**
 * Softmax down each of the first `batch` columns of `rows` rows `stride` floats apart, from float index `at`:
 * over the rows of feature-major data per lane, or over the channels of CHW planes per pixel (rows =
 * channels, stride = batch = the plane).
 */
function softmaxLanes(
  f: Float32Array,
  at: number,
  rows: number,
  stride: number,
  batch: number,
): void {
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let r = 0; r < rows; r++) max = Math.max(max, f[at + r * stride + b]!);
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const e = Math.exp(f[at + r * stride + b]! - max);
      f[at + r * stride + b] = e;
      sum += e;
    }
    for (let r = 0; r < rows; r++) f[at + r * stride + b]! /= sum;
  }
}
