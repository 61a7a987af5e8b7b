// What every model builder receives.

export interface ModelBuildOptions {
  /** One example's shape, without the batch axis: [height, width, channels]. */
  readonly inputShape: readonly [number, number, number];
  /** Number of output classes. */
  readonly numClasses: number;
  /** Seeds the weight initializers, so the same seed builds the same model. */
  readonly seed: number;
  /** For models with a width multiplier (`paper-cnn-wide`); each model has its own default. */
  readonly width?: number;
  /**
   * Momentum of the BatchNorm moving averages, for models with BatchNorm (default 0.99, Keras's). Runs of
   * a few hundred steps want less (0.9): with 0.99 the initial variance of 1 still weighs 0.99^steps in
   * the moving variance, which swamps small activations' true variance and ruins inference-mode accuracy.
   */
  readonly batchNormMomentum?: number;
}
