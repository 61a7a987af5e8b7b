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
}
