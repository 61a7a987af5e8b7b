// A model.fit callback that shows progress (a bar on a terminal, else one line per epoch); nothing prints without it.
import { Callback, getBackend, type Tensor } from '@tensorflow/tfjs';
import { Presets, SingleBar } from 'cli-progress';

/** Options of {@link fitProgress}. */
export interface FitProgressOptions {
  /**
   * Where lines go (one per epoch, plus warnings). Default: standard error. Pass `console.log`, a
   * logger's method, or `() => {}` to keep only the bar.
   */
  readonly log?: (line: string) => void;
  /** Draw a progress bar per epoch on standard error. Default: when standard error is a terminal. */
  readonly bar?: boolean;
}

type LogValue = number | Tensor;

async function value(v: LogValue | undefined): Promise<number | undefined> {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : ((await v.data())[0] ?? undefined);
}

const fixed = (v: number | undefined, digits: number) =>
  v === undefined ? '-' : v.toFixed(digits);

/** Keras-like progress for `model.fit`: see {@link fitProgress}. */
export class FitProgress extends Callback {
  private bar: SingleBar | undefined;
  private epochStarted = 0;
  private readonly log: (line: string) => void;
  private readonly drawBar: boolean;

  constructor(options: FitProgressOptions = {}) {
    super();
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'));
    this.drawBar = options.bar ?? process.stderr.isTTY === true;
  }

  override async onTrainBegin(): Promise<void> {
    if (getBackend() === 'cpu') {
      this.log(
        'warning: training on tfjs-cpu, about 100x slower than wasm. Call `await initBackend()` from ' +
          "dynaprune first (tfjs-node if installed, else wasm with dynaprune's training kernels).",
      );
    }
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.epochStarted = performance.now();
    const steps = this.steps();
    if (!this.drawBar || steps === undefined) return;
    this.bar = new SingleBar(
      {
        format: `epoch ${epoch + 1}/${String(this.params['epochs'])} |{bar}| {value}/{total} | ETA {eta}s | loss {loss}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      },
      Presets.shades_classic,
    );
    this.bar.start(steps, 0, { loss: '-' });
  }

  override async onBatchEnd(batch: number, logs?: Record<string, LogValue>): Promise<void> {
    this.bar?.update(batch + 1, { loss: fixed(await value(logs?.['loss']), 4) });
  }

  override async onEpochEnd(epoch: number, logs?: Record<string, LogValue>): Promise<void> {
    this.bar?.stop();
    this.bar = undefined;
    const seconds = (performance.now() - this.epochStarted) / 1000;
    const parts = [`epoch ${epoch + 1}/${String(this.params['epochs'])}`];
    for (const [key, v] of Object.entries(logs ?? {})) {
      parts.push(`${key} ${fixed(await value(v), 4)}`);
    }
    this.log(`${parts.join(' | ')} | ${seconds.toFixed(1)} s`);
  }

  /** Batches per epoch, from fit's parameters (steps, or samples / batch size). */
  private steps(): number | undefined {
    const p = this.params as { steps?: number; samples?: number; batchSize?: number };
    if (typeof p.steps === 'number') return p.steps;
    if (typeof p.samples === 'number' && typeof p.batchSize === 'number') {
      return Math.ceil(p.samples / p.batchSize);
    }
    return undefined;
  }
}

/**
 * A `model.fit` callback that reports progress the way Keras's `verbose=1` does: a bar per epoch on a
 * terminal, then one line per epoch with the logged metrics and its time. It also warns, through `log`,
 * when training runs on tfjs-cpu. dynaprune prints nothing unless you pass this callback.
 *
 * ```ts
 * await model.fit(xs, ys, { epochs: 3, callbacks: [fitProgress()] });
 * ```
 */
export function fitProgress(options: FitProgressOptions = {}): FitProgress {
  return new FitProgress(options);
}
