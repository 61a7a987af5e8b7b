// Keras's sparse categorical cross-entropy on probabilities, and the count of correct predictions.
import {
  argMax,
  clipByValue,
  equal,
  isNaN,
  log,
  mean,
  neg,
  oneHot,
  sum,
  tidy,
  where,
} from '@tensorflow/tfjs';
import type { Scalar, Tensor } from '@tensorflow/tfjs';

/** Keras's `epsilon()`: probabilities are clipped to [ε, 1 − ε] before the log. */
const EPSILON = 1e-7;

/**
 * Mean over the batch of −log p[label], with p clipped to [ε, 1 − ε] as Keras does for
 * `from_logits=False` (NaN stays NaN).
 * `probs` is [batch, classes] (softmax outputs), `labels` is int32 [batch]. Returns a new scalar.
 */
export function sparseCategoricalCrossentropy(probs: Tensor, labels: Tensor): Scalar {
  return tidy(() => {
    const classes = probs.shape[probs.shape.length - 1]!;
    // Labels may be int32 or float32 (tfjs's model.fit metrics need float32 class indices).
    const picked = sum(oneHot(labels.toInt(), classes).mul(probs), -1);
    // Clipping would turn NaN into ε and hide a diverged model; keep NaN so the loop can stop.
    const clipped = where(isNaN(picked), picked, clipByValue(picked, EPSILON, 1 - EPSILON));
    return mean(neg(log(clipped))) as Scalar;
  });
}

/** The number of rows whose arg-max equals the label, as a new int32 scalar. */
export function countCorrect(probs: Tensor, labels: Tensor): Scalar {
  return tidy(() => sum(equal(argMax(probs, -1), labels.toInt()).toInt()) as Scalar);
}
