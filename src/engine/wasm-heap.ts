// Access to tfjs-wasm's heap for kernels written in TypeScript or in our own WebAssembly.
import type { TensorInfo, NamedTensorInfoMap, NamedAttrMap, KernelFunc } from '@tensorflow/tfjs';
import { getKernel } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: BackendWasm, info: TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined || data.memoryOffset === null) {
    throw new Error(`tensor ${String(info.dataId)} has no data on the wasm heap`);
  }
  return data.memoryOffset;
}

/** A Float32Array view of a tensor's data. Views die when the heap grows: take them after allocating. */
export function heapFloat32(backend: BackendWasm, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** Frees an intermediate tensor made with `makeOutput` or another kernel, inside a kernel. */
export function disposeIntermediate(backend: BackendWasm, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

/**
 * Calls another wasm kernel directly, as tfjs-wasm's own kernels do. The caller owns the result and must
 * return it or dispose it with {@link disposeIntermediate}.
 */
export function callKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
  kernelFunc?: KernelFunc,
): TensorInfo {
  const func = kernelFunc ?? getKernel(kernelName, 'wasm')?.kernelFunc;
  if (func === undefined) throw new Error(`wasm kernel ${kernelName} is not registered`);
  const out = func({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`wasm kernel ${kernelName} returned several outputs`);
  return out as TensorInfo;
}
