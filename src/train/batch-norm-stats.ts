// Re-estimating BatchNorm's moving statistics after training, from clean (unaugmented) training images.
import { tensor4d, tidy, type LayersModel } from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { makeBatch } from '../data/batch.js';
import { isBatchNorm, snapshotMovingStatistics } from '../layers/batch-norm.js';
import type { ImageShape, ImageSplit } from '../data/types.js';
import { evaluate } from './trainer.js';

/** The fields of tfjs-layers' BatchNormalization (and FastBatchNormalization) that this touches. */
interface BatchNormLike {
  momentum: number;
}

/** Whether `model` has BatchNorm layers, whose statistics `recalibrateBatchNorm` can re-estimate. */
export function hasBatchNorm(model: LayersModel): boolean {
  return model.layers.some(isBatchNorm);
}

/**
 * Replaces every BatchNorm layer's moving mean and variance with their average over the first `images`
 * images of `split`, without augmentation: batches run in training mode, and each layer's momentum is set
 * to k/(k+1) for the k-th batch, so the moving averages become plain averages of the batch statistics
 * (the method of PyTorch's `swa_utils.update_bn`). Trainable weights do not change.
 *
 * Why: the moving averages are an exponential average (momentum 0.99) over the last ~100 training steps
 * of augmented images while the weights were still moving, which can sit far from the statistics of clean
 * images under the final weights. Uses training data only; the test set is never seen. Leaves no tensors.
 */
export function recalibrateBatchNorm(
  model: LayersModel,
  split: ImageSplit,
  inputShape: ImageShape,
  options: { readonly images: number; readonly batchSize?: number },
): void {
  const batchSize = options.batchSize ?? 100;
  const count = Math.min(options.images, split.count);
  if (!Number.isInteger(count) || count < 1)
    throw new InvalidArgumentError(`recalibrateBatchNorm needs at least one image, got ${count}.`);
  const layers = model.layers.filter(isBatchNorm) as unknown as BatchNormLike[];
  const saved = layers.map((l) => l.momentum);
  const [h, w, c] = inputShape;
  const x = new Float32Array(batchSize * h * w * c);
  const y = new Int32Array(batchSize);
  try {
    for (let start = 0, k = 0; start < count; start += batchSize, k++) {
      const size = Math.min(batchSize, count - start);
      const order = Int32Array.from({ length: size }, (_, i) => start + i);
      makeBatch(split, inputShape, order, { into: { images: x, labels: y } });
      for (const layer of layers) layer.momentum = k / (k + 1);
      tidy(() => {
        model.apply(tensor4d(x.subarray(0, size * h * w * c), [size, h, w, c]), {
          training: true,
        });
      });
    }
  } finally {
    layers.forEach((l, i) => (l.momentum = saved[i]!));
  }
}

/**
 * What a recalibration did: how many training images it averaged over, the validation figures of the
 * model before and after it, and whether it was kept. The test set plays no part: the caller evaluates it
 * once, on the final model.
 */
export interface BatchNormRecalibration {
  readonly images: number;
  /**
   * Whether the re-estimated statistics stayed in the model. On a held-out split they stay only when they
   * raise its accuracy; otherwise the statistics training left are restored (a choice made on validation).
   * Judged on the test set (no held-out split) they always stay: choosing there would read the test set.
   */
  readonly kept: boolean;
  /**
   * The split the before/after figures come from: `validation` for held-out training images; `test` for a
   * run without a held-out split, whose validation data is the test set (the paper's protocol).
   */
  readonly judgedOn: 'validation' | 'test';
  readonly validationAccBefore: number;
  readonly validationLossBefore: number;
  readonly validationAccAfter: number;
  readonly validationLossAfter: number;
}

/** The data of {@link recalibrateAndValidate}: the split to average over and the one to judge on. */
export interface RecalibrationData {
  /** Training images only (never the held-out validation ones): the first `images` of them are used. */
  readonly train: ImageSplit;
  readonly validation: ImageSplit;
  readonly inputShape: ImageShape;
  /** Whether `validation` is the test set (a run without a held-out split). */
  readonly validationIsTest: boolean;
}

/**
 * The post-training step `dynaprune train --bn-recalibration` and `dynaprune paper` share: when `images`
 * is positive and the model has BatchNorm, recalibrates on the first `images` training images (at most
 * all) and evaluates the validation split once. On a held-out split the new statistics are kept only if
 * they raise its accuracy, else the old ones are put back. `before` is the model's validation result
 * before the step (the last epoch's). Returns the record, or undefined when there was nothing to do.
 */
export function recalibrateAndValidate(
  model: LayersModel,
  data: RecalibrationData,
  images: number,
  before: { readonly loss: number; readonly acc: number },
): BatchNormRecalibration | undefined {
  if (images <= 0 || !hasBatchNorm(model)) return undefined;
  const used = Math.min(images, data.train.count);
  const snapshot = snapshotMovingStatistics(model);
  let after: { loss: number; acc: number };
  let kept: boolean;
  try {
    recalibrateBatchNorm(model, data.train, data.inputShape, { images: used });
    after = evaluate(model, data.validation, data.inputShape);
    kept = data.validationIsTest || after.acc > before.acc;
    if (!kept) snapshot.restore();
  } finally {
    snapshot.dispose();
  }
  return {
    images: used,
    kept,
    judgedOn: data.validationIsTest ? 'test' : 'validation',
    validationAccBefore: before.acc,
    validationLossBefore: before.loss,
    validationAccAfter: after.acc,
    validationLossAfter: after.loss,
  };
}

/** One log line for a recalibration: `prefix` (for example "dsr: ") then validation accuracy before → after. */
export function recalibrationLine(prefix: string, record: BatchNormRecalibration): string {
  const split =
    record.judgedOn === 'test' ? 'validation (the test set: no held-out split)' : 'validation';
  const verdict = record.kept
    ? 'kept'
    : 'not better on validation: the statistics of training are kept';
  return (
    `${prefix}BatchNorm statistics re-estimated on ${record.images} clean training images: ${split} accuracy ` +
    `${(100 * record.validationAccBefore).toFixed(2)}% -> ${(100 * record.validationAccAfter).toFixed(2)}% (${verdict})`
  );
}
