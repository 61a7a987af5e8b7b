// Implicit backend start-up for entry points that create tensors: dynaprune's choice unless the user made one.
import { engine } from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from '../engine/backend.js';

/**
 * Runs `initBackend('auto')` (tfjs-node, else wasm with the training kernels, else cpu) when no tfjs
 * backend is active yet, so that tensors are not created on tfjs's default (cpu in Node, 100× slower to
 * train). A backend already active, chosen by the user or by an earlier call, is kept. Returns the
 * choice made, or undefined when one was kept.
 */
export async function ensureBackend(): Promise<BackendChoice | undefined> {
  if ((engine() as unknown as { backendName: string | null }).backendName) return undefined;
  return initBackend('auto');
}
