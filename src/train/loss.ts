// Keras's sparse categorical cross-entropy on probabilities, and the count of correct predictions.
import { argMax, clipByValue, equal, log, mean, neg, oneHot, sum, tidy } from '@tensorflow/tfjs';
import type { Scalar, Tensor } from '@tensorflow/tfjs';

/** Keras's `epsilon()`: probabilities are clipped to [ε, 1 − ε] before the log. */
const EPSILON = 1e-7;

/**
 * Mean over the batch of −log p[label], with p clipped as Keras does for `from_logits=False`.
 * `probs` is [batch, classes] (softmax outputs), `labels` is int32 [batch]. Returns a new scalar.
 */
export function sparseCategoricalCrossentropy(probs: Tensor, labels: Tensor): Scalar {
  return tidy(() => {
    const classes = probs.shape[probs.shape.length - 1]!;
    const picked = sum(oneHot(labels, classes).mul(clipByValue(probs, EPSILON, 1 - EPSILON)), -1);
    return mean(neg(log(picked))) as Scalar;
  });
}

/** The number of rows whose arg-max equals the label, as a new int32 scalar. */
export function countCorrect(probs: Tensor, labels: Tensor): Scalar {
  return tidy(() => sum(equal(argMax(probs, -1), labels).toInt()) as Scalar);
}
