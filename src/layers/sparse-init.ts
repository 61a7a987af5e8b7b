// Sparse-aware initialization: each unit's initial weights scaled to its active fan-in (Evci et al., AAAI 2022).

/**
 * What the scaling reads and writes of a layer: MaskedLayer has all of it. Declared here rather than taken from
 * masked-layer.ts, which calls the scaling when it builds, so that neither file imports the other.
 */
export interface MaskedKernel {
  /** The mask weight, shaped like the kernel: [..., in, out]. */
  readonly maskVariable: { readonly shape: readonly (number | null)[] };
  getKernel(): Float32Array;
  getMask(): Float32Array;
  writeMaskAndKernel(mask: Float32Array, kernel: Float32Array): void;
}

/**
 * Multiplies every output unit's kernel weights by sqrt(fanIn / activeFanIn), where activeFanIn counts
 * the unit's unmasked inputs. A dense initializer sets the weights' variance for the full fan-in; with 90%
 * of the inputs masked each unit's pre-activation variance drops about tenfold and the signal fades layer
 * by layer. Scaling to the active fan-in restores the variance the initializer intended ("Gradient Flow in
 * Sparse Neural Networks and How Lottery Tickets Win", Evci et al., AAAI 2022). Units with no active
 * input are left alone. Returns the scale factors, one per unit.
 */
export function scaleToActiveFanIn(layer: MaskedKernel): Float32Array {
  const shape = layer.maskVariable.shape.map((d) => d ?? 0);
  const units = shape[shape.length - 1]!;
  const kernel = layer.getKernel();
  const mask = layer.getMask();
  const fanIn = kernel.length / units;
  // The kernel is [..., in, out] (conv2d [kh, kw, in, out], dense [in, out]): unit u is every `units`-th value.
  const active = new Float64Array(units);
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) active[i % units]!++;
  const scales = new Float32Array(units);
  for (let u = 0; u < units; u++) scales[u] = active[u]! > 0 ? Math.sqrt(fanIn / active[u]!) : 1;
  for (let i = 0; i < kernel.length; i++) kernel[i]! *= scales[i % units]!;
  // A kernel write, not a mask write: the optimizer's moments are untouched (none exist yet).
  layer.writeMaskAndKernel(mask, kernel);
  return scales;
}
