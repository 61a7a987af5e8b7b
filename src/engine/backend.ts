// Chooses the tfjs backend: tfjs-node when installed, else wasm with dynaprune's training kernels, else cpu.
import { getBackend, ready, setBackend } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { engine } from '@tensorflow/tfjs';
import { coreCount } from '#platform/threads';
import { BackendError, UnknownNameError } from '../errors.js';
import { kernelThreadCount, useThreadedWasm, wasmThreadCount } from './threaded-backend.js';
import {
  registerTrainingKernels,
  type TrainingKernelReport,
  type TrainingKernelSet,
} from './training-kernels.js';

/** What the user may ask for (`--backend`). */
export type BackendRequest = 'auto' | 'node' | 'wasm' | 'cpu';
export const backendRequests: readonly BackendRequest[] = ['auto', 'node', 'wasm', 'cpu'];

/** A concrete backend. */
export type BackendKind = Exclude<BackendRequest, 'auto'>;

/** The order `auto` tries, fastest first (DESIGN.md, "Backend order"). */
const autoOrder: readonly BackendKind[] = ['node', 'wasm', 'cpu'];

/** tfjs's own name for each backend. */
const tfjsName: Readonly<Record<BackendKind, string>> = {
  node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

export interface BackendAttempt {
  readonly backend: BackendKind;
  readonly error: string;
}

/** The backend in use, and how it was chosen. */
export interface BackendChoice {
  readonly backend: BackendKind;
  /** The name tfjs reports (`tf.getBackend()`). */
  readonly tfjsBackend: string;
  /** One sentence for the log: what was chosen and why. */
  readonly description: string;
  /** Backends tried before this one, with why each failed. */
  readonly attempts: readonly BackendAttempt[];
  /** For wasm: the training kernels installed. */
  readonly trainingKernels?: TrainingKernelReport;
  /** Threads the backend computes on (XNNPACK's pool and dynaprune's kernel workers); 1 off wasm. */
  readonly threads: number;
}

export interface InitBackendOptions {
  /** For wasm: which training kernels to install (default `all`). */
  readonly trainingKernels?: TrainingKernelSet;
  /**
   * For wasm in Node: threads to compute on (tfjs-wasm's threaded build, XNNPACK's pool and dynaprune's
   * kernel workers). Default: {@link defaultThreads}. 1 keeps tfjs-wasm's single-threaded
   * build. Fixed once the wasm backend has started in this process. Ignored in browsers (tfjs-wasm
   * chooses there) and on other backends.
   */
  readonly threads?: number;
  /**
   * For wasm in Node with `threads` > 1: the threads of XNNPACK's pool (tfjs-wasm's own ops), at most
   * `threads`. Default `threads`. 1 leaves tfjs's ops on the calling thread while dynaprune's kernels still
   * split over `threads`: XNNPACK's idle pool threads spin between ops, taking the cores those kernels
   * need (docs/DECISIONS.md, "Both cores").
   */
  readonly xnnpackThreads?: number;
}

/**
 * Threads used when none are asked for: half the logical cores (at least 1), tfjs-wasm's own rule for its
 * XNNPACK pool, which assumes two hardware threads per core. On this project's 2-core machine that is 1:
 * two threads did not pay there under the load it runs at (docs/DECISIONS.md, "Both cores").
 */
export function defaultThreads(): number {
  return Math.max(1, Math.floor(coreCount() / 2));
}

/** Parses a `--backend` value; throws UnknownNameError listing the choices. */
export function parseBackendRequest(value: string): BackendRequest {
  if ((backendRequests as readonly string[]).includes(value)) return value as BackendRequest;
  throw new UnknownNameError('backend', value, backendRequests);
}

// A variable keeps bundlers and the type checker from resolving this optional peer dependency.
const tfjsNodePackage = '@tensorflow/tfjs-node';

async function activate(kind: BackendKind, options: InitBackendOptions): Promise<BackendChoice> {
  let trainingKernels: TrainingKernelReport | undefined;
  if (kind === 'node') {
    try {
      await import(/* @vite-ignore */ tfjsNodePackage);
    } catch (error) {
      const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
      throw new BackendError(
        missing
          ? '@tensorflow/tfjs-node is not installed'
          : `@tensorflow/tfjs-node failed to load (${(error as Error).message.split('\n')[0]})`,
      );
    }
  } else if (kind === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    const threads = options.threads ?? defaultThreads();
    if (threads > 1) {
      await useThreadedWasm(threads, Math.min(threads, options.xnnpackThreads ?? threads));
    }
  }
  const ok = await setBackend(tfjsName[kind]);
  await ready();
  if (!ok || getBackend() !== tfjsName[kind]) {
    throw new BackendError(`tfjs could not initialize the ${tfjsName[kind]} backend`);
  }
  let threads = 1;
  let xnnpackThreads = 1;
  if (kind === 'wasm') {
    trainingKernels = await registerTrainingKernels(options.trainingKernels ?? 'all');
    const backend = engine().findBackend('wasm') as BackendWasm;
    threads = kernelThreadCount(backend);
    xnnpackThreads = wasmThreadCount(backend);
  }
  const detail =
    kind === 'node'
      ? 'native TensorFlow through tfjs-node'
      : kind === 'wasm'
        ? `WebAssembly (XNNPACK) with dynaprune's training kernels (${trainingKernels?.set}` +
          `, ${threads} thread${threads === 1 ? '' : 's'}` +
          (xnnpackThreads !== threads ? ` (XNNPACK ${xnnpackThreads})` : '') +
          (trainingKernels?.simd.state === 'ready'
            ? ', SIMD)'
            : `; SIMD kernels off: ${trainingKernels?.simd.reason ?? 'unknown'})`)
        : 'plain JavaScript (slow: about 1 image/s for the paper CNN)';
  return {
    backend: kind,
    tfjsBackend: getBackend(),
    description: `backend ${kind}: ${detail}`,
    attempts: [],
    threads,
    ...(trainingKernels ? { trainingKernels } : {}),
  };
}

/**
 * Activates a backend. `auto` tries tfjs-node, then wasm, then cpu, and reports what failed on the way;
 * an explicit choice that fails throws BackendError. When every backend fails, the error gathers every
 * failure.
 */
export async function initBackend(
  request: BackendRequest = 'auto',
  options: InitBackendOptions = {},
): Promise<BackendChoice> {
  if (request !== 'auto') {
    try {
      return await activate(request, options);
    } catch (error) {
      if (error instanceof BackendError) throw error;
      throw new BackendError(`Backend ${request} failed: ${String(error)}`, { cause: error });
    }
  }
  const attempts: BackendAttempt[] = [];
  for (const kind of autoOrder) {
    try {
      const choice = await activate(kind, options);
      const skipped = attempts.map((a) => `${a.backend}: ${a.error}`).join('; ');
      return {
        ...choice,
        attempts,
        description: choice.description + (skipped ? ` (skipped ${skipped})` : ''),
      };
    } catch (error) {
      attempts.push({
        backend: kind,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  throw new BackendError(
    'No tfjs backend could be initialized: ' +
      attempts.map((a) => `${a.backend}: ${a.error}`).join('; '),
  );
}
