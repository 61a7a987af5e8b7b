// The benchmarks' peers, onnxruntime-node and onnxruntime-web, from the bench-only package bench/peers/.
//
// They are never dependencies of dynaprune: bench/peers/package.json pins them with its own lock, and the
// first bench that needs them installs it with `npm ci --ignore-scripts` (onnxruntime-node's install
// script downloads GPU binaries, which this machine cannot reach; its CPU binary ships in the package).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const peersDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'peers');

/** The slice of onnxruntime's JavaScript API the benchmarks use (both packages share it). */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface OrtModule {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  readonly env: { readonly versions?: Record<string, string>; wasm: { numThreads?: number } };
}

/** Which onnxruntime runs a session: the native CPU build, or the WebAssembly (SIMD) build. */
export type OrtFlavour = 'ort-node' | 'ort-web';

export interface Peers {
  readonly ortNode: OrtModule;
  readonly ortWeb: OrtModule;
  readonly version: string;
}

/** Installs bench/peers when its node_modules is missing, then loads both onnxruntime packages. */
export function loadPeers(
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Peers {
  if (!existsSync(join(peersDir, 'node_modules', 'onnxruntime-node'))) {
    log(`installing the bench peers in ${peersDir} (npm ci --ignore-scripts)`);
    execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: peersDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const require = createRequire(join(peersDir, 'package.json'));
  const ortNode = require('onnxruntime-node') as OrtModule;
  const ortWeb = require('onnxruntime-web') as OrtModule;
  // One thread for the wasm build, as for every other engine in the benchmarks.
  ortWeb.env.wasm.numThreads = 1;
  return { ortNode, ortWeb, version: ortNode.env.versions?.node ?? 'unknown' };
}

/** A model loaded in one onnxruntime: `run` takes NCHW images and returns the single output's values. */
export interface PeerSession {
  readonly flavour: OrtFlavour;
  run(input: Float32Array, dims: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * An onnxruntime session on one thread with all graph optimizations. The two packages share
 * onnxruntime-common's backend registry, so the execution provider is always named: `cpu` is the native
 * build (onnxruntime-node registers it above the wasm build), `wasm` the WebAssembly one.
 */
export async function createSession(
  peers: Peers,
  flavour: OrtFlavour,
  model: Uint8Array,
): Promise<PeerSession> {
  const ort = flavour === 'ort-node' ? peers.ortNode : peers.ortWeb;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [flavour === 'ort-node' ? 'cpu' : 'wasm'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  return {
    flavour,
    run: async (input, dims) => {
      const out = await session.run({ [inputName!]: new ort.Tensor('float32', input, dims) });
      return out[outputName!]!.data as Float32Array;
    },
    release: () => session.release(),
  };
}

/** NHWC images [batch, h, w, c] in the layout ONNX models take, NCHW. */
export function nhwcToNchw(
  data: Float32Array,
  shape: readonly number[],
  batch: number,
): Float32Array {
  const [h, w, c] = shape as [number, number, number];
  const out = new Float32Array(data.length);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++)
          out[((n * c + k) * h + y) * w + x] = data[((n * h + y) * w + x) * c + k]!;
  return out;
}
