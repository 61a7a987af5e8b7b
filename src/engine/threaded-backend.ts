// The tfjs `wasm` backend on several threads in Node: tfjs-wasm's threaded build, which XNNPACK splits ops over.
import { engine, registerBackend, removeBackend } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loadThreadedTfjsWasm, threadSupport } from '#platform/threads';

/** tfjs-wasm's priority for its backend, kept so that `auto` choices in tfjs stay as they were. */
const WASM_PRIORITY = 2;

/** What {@link useThreadedWasm} did. */
export type ThreadedWasmState =
  | { readonly state: 'registered'; readonly threads: number }
  | { readonly state: 'unavailable'; readonly reason: string };

/** The threads dynaprune's own kernels split over, per backend started here (XNNPACK may have fewer). */
const kernelThreadCounts = new WeakMap<object, number>();

/**
 * Replaces the registration of tfjs's `wasm` backend by tfjs-wasm's threaded build, so that the next
 * `setBackend('wasm')` starts it: dynaprune's kernels split over `threads` threads, XNNPACK's pool (tfjs's
 * own ops) gets `xnnpackThreads` (default the same). Call it before the wasm backend is first initialized;
 * once it is, the thread counts are fixed for the process and this returns `unavailable`. Node only (the
 * browser's tfjs-wasm picks its threaded build by itself when the page is cross-origin isolated).
 */
export async function useThreadedWasm(
  threads: number,
  xnnpackThreads = threads,
): Promise<ThreadedWasmState> {
  const support = threadSupport();
  if (!support.available) {
    return { state: 'unavailable', reason: support.reason ?? 'threads are not supported' };
  }
  const registry = engine().registry as Record<string, unknown>;
  if (registry['wasm'] !== undefined) {
    return {
      state: 'unavailable',
      reason: 'the wasm backend is already running; its thread count is fixed for this process',
    };
  }
  const wasmPackage = await import('@tensorflow/tfjs-backend-wasm');
  removeBackend('wasm');
  registerBackend(
    'wasm',
    async () => {
      const module = await loadThreadedTfjsWasm(xnnpackThreads);
      // The functions tfjs-wasm's own loader attaches before constructing its backend.
      module['tfjs'] = {
        init: module.cwrap('init', null, []),
        initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: module.cwrap('get_threads_count', 'number', []),
        registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: module.cwrap('dispose_data', null, ['number']),
        dispose: module.cwrap('dispose', null, []),
      };
      wasmPackage.setThreadsCount(xnnpackThreads);
      const backend = new wasmPackage.BackendWasm(module as unknown as BackendWasm['wasm']);
      kernelThreadCounts.set(backend, threads);
      // XNNPACK's pool threads run forever; emscripten refs their workers, which would keep Node alive.
      const pthreads = module['PThread'] as
        { runningWorkers?: { unref?: () => void }[] } | undefined;
      for (const worker of pthreads?.runningWorkers ?? []) worker.unref?.();
      return backend;
    },
    WASM_PRIORITY,
  );
  return { state: 'registered', threads };
}

/** XNNPACK's thread count in a running wasm backend (1 for tfjs-wasm's single-threaded builds). */
export function wasmThreadCount(backend: BackendWasm): number {
  const tfjs = (backend.wasm as unknown as { tfjs?: { getThreadsCount?: () => number } }).tfjs;
  const count = tfjs?.getThreadsCount?.() ?? 1;
  return count > 0 ? count : 1;
}

/** The threads dynaprune's kernels split over in a running wasm backend: as asked, else XNNPACK's count. */
export function kernelThreadCount(backend: BackendWasm): number {
  return kernelThreadCounts.get(backend) ?? wasmThreadCount(backend);
}
