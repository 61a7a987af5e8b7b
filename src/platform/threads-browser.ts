// The browser's stand-in for threads.ts (package.json maps `#platform/threads` here under the `browser`
// condition): training in a page runs on one thread, and bundlers never see node:worker_threads.
import type * as NodeThreads from './threads.js';

export const coreCount: typeof NodeThreads.coreCount = () =>
  typeof navigator !== 'undefined' && navigator.hardwareConcurrency > 0
    ? navigator.hardwareConcurrency
    : 1;

export const threadSupport: typeof NodeThreads.threadSupport = () => ({
  available: false,
  reason: 'multithreaded training is implemented for Node.js only',
});

export const loadThreadedTfjsWasm: typeof NodeThreads.loadThreadedTfjsWasm = () =>
  Promise.reject(new Error('the threaded tfjs-wasm loader is implemented for Node.js only'));

export const startKernelWorkers: typeof NodeThreads.startKernelWorkers = () => {
  throw new Error('kernel worker threads are implemented for Node.js only');
};
