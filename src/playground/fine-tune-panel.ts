// The page's "prune further and fine-tune here" panel: fetches training images, loads the fine-tuning chunk on
// first use, shows progress, then hands the fine-tuned container back to the page (runtime accuracy, download).
import type { PruneScope } from '../graph/prune.js';
import type { FineTunedLayer } from './fine-tune.js';

/** Fine-tuning as the page shows it; published in `window.playground.fineTune`. */
export interface FineTuneState {
  state: 'loading' | 'training' | 'evaluating' | 'done' | 'failed';
  /** The slider's point it started from (0: the stored weights) and how it spread over layers. */
  sparsity: number;
  scope: PruneScope;
  images: number;
  step: number;
  steps: number;
  /** Running mean of the current epoch's training loss. */
  loss?: number;
  /** Mean training loss of each finished epoch. */
  losses?: number[];
  backend?: string;
  trainingKernels?: string[];
  layers?: FineTunedLayer[];
  /** Runtime accuracy on the held-out images at the starting point, and with the fine-tuned weights. */
  accuracyBefore?: number;
  accuracyAfter?: number;
  /** tfjs's accuracy on the same images after training (the runtime should agree). */
  heldOutTfjs?: number;
  seconds?: number;
  /** The download's file name. */
  file?: string;
  error?: string;
}

/** Uint8 NHWC images with their labels, as the server sends them. */
export interface ImageSet {
  readonly count: number;
  readonly shape: readonly [number, number, number];
  readonly labelNames: readonly string[];
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
}

/** What the panel needs from the page. */
export interface FineTuneContext {
  /** The model shown now: its container, dataset, held-out images and class names; undefined while loading. */
  current():
    | {
        name: string;
        container: Uint8Array;
        dataset: string;
        heldOut: ImageSet;
        heldOutCount: number;
        labels: readonly string[];
        /** Why this model cannot be fine-tuned here, if it cannot. */
        refusal?: string;
      }
    | undefined;
  /** The slider's point, and the runtime accuracy there (measured when the page is settled). */
  point(): Promise<{ sparsity: number; scope: PruneScope; accuracy: number }>;
  /** Adds the fine-tuned container to the model list, shows it, and returns the runtime accuracy. */
  show(
    name: string,
    container: Uint8Array,
    figures: Record<string, string | number>,
  ): Promise<number>;
  /** Publishes state changes (for the page's state object). */
  publish(state: FineTuneState | undefined): void;
}

/** Learning rate of the fine-tuning: Adam at the paper's (Keras's default) rate. */
const LEARNING_RATE = 1e-3;
const BATCH_SIZE = 32;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

async function fetchTrainSet(dataset: string): Promise<ImageSet | undefined> {
  const meta = await fetch(`data/${dataset}/train.json`);
  if (meta.status === 404) return undefined;
  const info = (await meta.json()) as Omit<ImageSet, 'pixels' | 'labels'>;
  const body = new Uint8Array(await (await fetch(`data/${dataset}/train.bin`)).arrayBuffer());
  const pixels = body.subarray(0, body.length - info.count);
  return { ...info, pixels, labels: body.subarray(pixels.length) };
}

function render(s: FineTuneState): void {
  const progress = $<HTMLProgressElement>('finetune-progress');
  progress.max = Math.max(1, s.steps);
  progress.value = s.step;
  const pct = (v: number | undefined) => (v === undefined ? '…' : `${(100 * v).toFixed(1)}%`);
  const status: Record<FineTuneState['state'], () => string> = {
    loading: () => 'loading the training code and images…',
    training: () =>
      `training on ${s.images} images: step ${s.step} of ${s.steps}` +
      (s.loss === undefined ? '' : `, loss ${s.loss.toFixed(3)}`),
    evaluating: () => 'running the fine-tuned weights…',
    done: () =>
      `done in ${s.seconds?.toFixed(1)} s on tfjs-${s.backend}: accuracy ${pct(s.accuracyBefore)} → ` +
      `${pct(s.accuracyAfter)}, loss ${s.losses?.[0]?.toFixed(3)} → ${s.losses?.at(-1)?.toFixed(3)}, ` +
      `nnz kept (${(s.layers ?? []).reduce((a, l) => a + l.after, 0).toLocaleString('en')})`,
    failed: () => `failed: ${s.error}`,
  };
  $('finetune-status').textContent = status[s.state]();
}

/** One fine-tuning run from the page's current point to the new model shown; fills in `s` as it goes. */
async function run(
  ctx: FineTuneContext,
  epochs: number,
  s: FineTuneState,
  publish: (s: FineTuneState) => void,
): Promise<void> {
  const model = ctx.current();
  if (!model) return;
  const { sparsity, scope, accuracy } = await ctx.point();
  Object.assign(s, { sparsity, scope, accuracyBefore: accuracy });
  publish(s);
  const [module, trainSet] = await Promise.all([
    import('./fine-tune.js'),
    fetchTrainSet(model.dataset),
  ]);
  if (!trainSet)
    throw new Error(
      `the server offers no training images of ${model.dataset} (dynaprune serve --train-images N)`,
    );
  Object.assign(s, { state: 'training', images: trainSet.count });
  publish(s);
  const result = await module.fineTune({
    container: model.container,
    sparsity,
    scope,
    train: { images: trainSet.pixels, labels: trainSet.labels, count: trainSet.count },
    heldOut: {
      images: model.heldOut.pixels.subarray(
        0,
        model.heldOutCount * (model.heldOut.pixels.length / model.heldOut.count),
      ),
      labels: model.heldOut.labels.subarray(0, model.heldOutCount),
      count: model.heldOutCount,
    },
    inputShape: model.heldOut.shape,
    dataset: model.dataset,
    labels: model.labels,
    epochs,
    batchSize: BATCH_SIZE,
    learningRate: LEARNING_RATE,
    wasmUrl: new URL('wasm/', location.href).href,
    onStep: (step, steps, loss) => {
      Object.assign(s, { step, steps, loss });
      publish(s);
    },
  });
  const point = sparsity > 0 ? `${(100 * sparsity).toFixed(1)}%` : 'stored';
  Object.assign(s, {
    state: 'evaluating',
    losses: [...result.losses],
    backend: result.backend,
    trainingKernels: [...result.trainingKernels],
    layers: [...result.layers],
    heldOutTfjs: result.heldOutAccuracy,
    seconds: result.seconds,
    file: `${model.name.replace(/\.dpr$/i, '')}-finetuned-${point.replace('%', '')}.dpr`,
  });
  publish(s);
  s.accuracyAfter = await ctx.show(`${model.name} fine-tuned (${point})`, result.container, {
    'fine-tuned from': point,
    'training images': trainSet.count,
    epochs,
    steps: result.steps,
    'final loss': Number(result.losses.at(-1)!.toFixed(4)),
  });
  offerDownload(result.container, s.file!);
  s.state = 'done';
  publish(s);
}

function offerDownload(container: Uint8Array, file: string): void {
  const link = $<HTMLAnchorElement>('finetune-download');
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(
    new Blob([new Uint8Array(container)], { type: 'application/octet-stream' }),
  );
  link.download = file;
  link.textContent = `download ${file}`;
  link.hidden = false;
}

/** Wires the panel's button; the page calls `refresh` whenever the model shown changes. */
export function wireFineTune(ctx: FineTuneContext): { refresh(): void } {
  const button = $<HTMLButtonElement>('finetune-start');
  let running = false;
  const refresh = (): void => {
    const model = ctx.current();
    button.disabled = running || !model || model.refusal !== undefined;
    button.title = model?.refusal ?? '';
    if (model?.refusal && !running) $('finetune-status').textContent = model.refusal;
  };
  const publish = (s: FineTuneState): void => {
    ctx.publish({ ...s });
    render(s);
  };
  button.addEventListener('click', () => {
    if (running) return;
    running = true;
    refresh();
    $('finetune-download').hidden = true;
    const epochs = Number($<HTMLInputElement>('finetune-epochs').value) || 1;
    const s: FineTuneState = {
      state: 'loading',
      sparsity: 0,
      scope: 'layer',
      images: 0,
      step: 0,
      steps: 1,
    };
    run(ctx, Math.max(1, Math.round(epochs)), s, publish)
      .catch((error: unknown) => {
        Object.assign(s, { state: 'failed', error: String((error as Error)?.message ?? error) });
        publish(s);
      })
      .finally(() => {
        running = false;
        refresh();
      });
  });
  return { refresh };
}
