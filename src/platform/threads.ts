// Node's threads for training: tfjs-wasm's threaded build under worker_threads, and workers for dynaprune's kernels.
//
// The browser stand-in is threads-browser.ts (package.json maps `#platform/threads` there), so bundlers never
// see node:worker_threads. Nothing here imports tfjs: the engine wraps these pieces into a tfjs backend.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/** The logical cores of this machine (what `--threads` defaults to). */
export function coreCount(): number {
  return availableParallelism();
}

/** Whether this platform can run threads: shared memory and Atomics.wait on the calling thread. */
export function threadSupport(): { readonly available: boolean; readonly reason?: string } {
  if (typeof SharedArrayBuffer === 'undefined') {
    return { available: false, reason: 'SharedArrayBuffer is not available' };
  }
  return { available: true };
}

/** The emscripten module object of tfjs-wasm's threaded build, as tfjs-wasm's BackendWasm expects it. */
export type EmscriptenModule = Record<string, unknown> & {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
};

/**
 * Loads tfjs-wasm's threaded SIMD build in Node, which tfjs-wasm itself never does in Node (its feature
 * flag says no; tfjs issue 3830). Three things make it work here:
 * - the pthread workers are worker_threads whose script (a data: URL) defines the globals emscripten's
 *   worker code expects of a browser worker (`require`, `__filename`) and then runs that code;
 * - each worker loads the factory script from its path on disk;
 * - tfjs-wasm sizes XNNPACK's pool as min(requested, logical cores / 2) (it assumes two hyperthreads per
 *   core), so the module is told it has twice `threads` logical cores and gets exactly `threads`.
 * Resolves to the module; tfjs-wasm's `BackendWasm` wraps it (src/engine/threaded-backend.ts).
 */
export async function loadThreadedTfjsWasm(threads: number): Promise<EmscriptenModule> {
  const factoryPath =
    require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const workerCodePath =
    require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');
  const factory = require(factoryPath) as (config: Record<string, unknown>) => Promise<unknown>;
  const workerCode = (require(workerCodePath) as { wasmWorkerContents: string }).wasmWorkerContents;
  // The worker code holds raw newlines inside string literals (tfjs-wasm escapes them the same way).
  const escaped = JSON.stringify(workerCode.replace(/\n/g, '\\n'));
  const shim =
    `import { createRequire } from 'node:module';\n` +
    `globalThis.require = createRequire(${JSON.stringify(factoryPath)});\n` +
    `globalThis.__filename = ${JSON.stringify(factoryPath)};\n` +
    `(0, eval)(${escaped});\n`;
  const workerUrl = new URL('data:text/javascript,' + encodeURIComponent(shim));
  const wasmPath = join(dirname(factoryPath), 'tfjs-backend-wasm-threaded-simd.wasm');
  const module = (await factory({
    locateFile: (path: string) => (path.endsWith('.worker.js') ? workerUrl : wasmPath),
    mainScriptUrlOrBlob: factoryPath,
    instantiateWasm: (
      imports: { env: Record<string, unknown> },
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) => {
      imports.env['emscripten_num_logical_cores'] = () => 2 * threads;
      void WebAssembly.instantiate(readFileSync(wasmPath), imports as WebAssembly.Imports).then(
        (result) => receive(result.instance, result.module),
      );
      return {};
    },
  })) as EmscriptenModule;
  return module;
}

/** Layout of the control block that the calling thread and the kernel workers share. */
const SEQ = 0; // generation counter; the workers wait on it; -1 tells them to exit
const DONE = 1; // how many workers finished the current job
const FUNC = 2; // index of the kernel in the job table
const ARGC = 3; // number of arguments
const MAX_ARGS = 32;
const HEADER_BYTES = 64;

/** Runs the training module's exported functions on worker threads over a shared memory. */
export interface KernelWorkers {
  /** Worker threads (not counting the caller). */
  readonly count: number;
  /**
   * Runs `name` on every worker, worker i with `argsPerWorker[i]`, while the caller runs its own share
   * (given as `ownShare`), and returns when all are done. The calls must write disjoint memory.
   */
  run(name: string, argsPerWorker: readonly (readonly number[])[], ownShare: () => void): void;
  /** Stops the workers. */
  terminate(): void;
}

// The workers' loop: wait for a new generation, run the named export with this worker's arguments, count
// itself done. Plain CommonJS, evaluated by worker_threads (`eval: true`).
const workerSource = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, index, names } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
const header = new Int32Array(control, 0, ${HEADER_BYTES / 4});
const args = new Float64Array(control, ${HEADER_BYTES} + index * ${MAX_ARGS * 8}, ${MAX_ARGS});
let seen = 0;
for (;;) {
  Atomics.wait(header, ${SEQ}, seen);
  const seq = Atomics.load(header, ${SEQ});
  if (seq < 0) break;
  if (seq === seen) continue;
  seen = seq;
  const argc = header[${ARGC}];
  const list = [];
  for (let i = 0; i < argc; i++) list.push(args[i]);
  instance.exports[names[header[${FUNC}]]](...list);
  Atomics.add(header, ${DONE}, 1);
  Atomics.notify(header, ${DONE});
}
`;

/**
 * Starts `count` workers, each instantiating `module` (compiled for a shared imported memory) against
 * `memory`. `names` lists the exports that {@link KernelWorkers.run} may call. The workers are unref'd:
 * they never keep the process alive.
 */
export function startKernelWorkers(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  count: number,
  names: readonly string[],
): KernelWorkers {
  const control = new SharedArrayBuffer(HEADER_BYTES + count * MAX_ARGS * 8);
  const header = new Int32Array(control, 0, HEADER_BYTES / 4);
  const workers = Array.from({ length: count }, (_, index) => {
    const worker = new Worker(workerSource, {
      eval: true,
      workerData: { module, memory, control, index, names: [...names] },
    });
    worker.unref();
    return worker;
  });
  const argViews = workers.map(
    (_, i) => new Float64Array(control, HEADER_BYTES + i * MAX_ARGS * 8, MAX_ARGS),
  );
  let seq = 0;
  return {
    count,
    run(name, argsPerWorker, ownShare) {
      const func = names.indexOf(name);
      if (func < 0) throw new Error(`kernel ${name} is not in the worker table`);
      const argc = argsPerWorker[0]?.length ?? 0;
      for (let i = 0; i < count; i++) argViews[i]!.set(argsPerWorker[i]!);
      header[FUNC] = func;
      header[ARGC] = argc;
      Atomics.store(header, DONE, 0);
      seq = (seq + 1) & 0x3fffffff;
      Atomics.store(header, SEQ, seq);
      Atomics.notify(header, SEQ);
      ownShare();
      for (;;) {
        const done = Atomics.load(header, DONE);
        if (done === count) break;
        Atomics.wait(header, DONE, done);
      }
    },
    terminate() {
      Atomics.store(header, SEQ, -1);
      Atomics.notify(header, SEQ);
      for (const worker of workers) void worker.terminate();
    },
  };
}
