// Typed errors: one class per kind of failure, each message saying what was expected, what was found and what to do.

/** Base class of every error dynaprune throws on purpose. `code` is stable across versions. */
export class DynapruneError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A value given by the caller is out of range or malformed (a sparsity of 1.2, a batch size of "abc"). */
export class InvalidArgumentError extends DynapruneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_ARGUMENT', message, options);
  }
}

/** Edit distance between two short strings (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(
        row[j]! + 1,
        next[j - 1]! + 1,
        row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length]!;
}

/**
 * The choice a mistyped name most likely meant: compared without case, hyphens or underscores, within an
 * edit distance of a third of its length (at least 2); undefined when none is that close.
 */
export function closestName(given: string, choices: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const g = norm(given);
  let best: { name: string; distance: number } | undefined;
  for (const name of choices) {
    const distance = editDistance(g, norm(name));
    if (
      distance <= Math.max(2, Math.floor(name.length / 3)) &&
      (!best || distance < best.distance)
    ) {
      best = { name, distance };
    }
  }
  return best?.name;
}

/** A name (model, dataset, method, backend...) is not one of the registered choices. */
export class UnknownNameError extends DynapruneError {
  readonly kind: string;
  readonly given: string;
  readonly choices: readonly string[];
  constructor(kind: string, given: string, choices: readonly string[]) {
    const near = closestName(given, choices);
    super(
      'E_UNKNOWN_NAME',
      `Unknown ${kind} "${given}".${near ? ` Did you mean "${near}"?` : ''} Valid choices: ${choices.join(', ')}.`,
    );
    this.kind = kind;
    this.given = given;
    this.choices = choices;
  }
}

/** Two tensors or a tensor and a declared shape disagree. */
export class ShapeMismatchError extends DynapruneError {
  constructor(message: string) {
    super('E_SHAPE_MISMATCH', message);
  }
}

/** A file exists but its bytes are not what its format promises (truncated, wrong size, bad header). */
export class CorruptFileError extends DynapruneError {
  readonly file: string;
  constructor(
    file: string,
    message: string,
    code = 'E_CORRUPT_FILE',
    options?: { cause?: unknown },
  ) {
    super(code, `${file}: ${message}`, options);
    this.file = file;
  }
}

/** A file's checksum differs from the expected one. */
export class ChecksumError extends CorruptFileError {
  readonly expected: string;
  readonly actual: string;
  constructor(file: string, expected: string, actual: string, hint = '') {
    super(
      file,
      `checksum mismatch: expected ${expected}, got ${actual}.${hint ? ' ' + hint : ''}`,
      'E_CHECKSUM',
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** Required data is not on disk and cannot be fetched. */
export class DataNotFoundError extends DynapruneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_DATA_NOT_FOUND', message, options);
  }
}

/** A download failed: offline, HTTP error, or interrupted. */
export class DownloadError extends DynapruneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_DOWNLOAD', message, options);
  }
}

/** A requested compute backend cannot be used here. */
export class BackendError extends DynapruneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BACKEND', message, options);
  }
}

/** Training produced a non-finite loss; the run stops rather than write garbage. */
export class NonFiniteLossError extends DynapruneError {
  readonly step: number;
  constructor(step: number, loss: number) {
    super(
      'E_NAN_LOSS',
      `Loss became ${loss} at step ${step}. Lower the learning rate, check the input scaling, ` +
        `or resume from the last checkpoint.`,
    );
    this.step = step;
  }
}

/** A run folder cannot be used as asked: it holds another run, is a file, or cannot be written. */
export class RunFolderError extends DynapruneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_RUN_FOLDER', message, options);
  }
}

/** Training diverged without reaching NaN (see `TrainOptions.divergence`); the last good checkpoint is kept. */
export class DivergedError extends DynapruneError {
  readonly epoch: number;
  constructor(epoch: number, message: string) {
    super('E_DIVERGED', message);
    this.epoch = epoch;
  }
}

/** A model would need more memory than the caller allows (the runtime's arena ceiling, for instance). */
export class MemoryLimitError extends DynapruneError {
  readonly neededBytes: number;
  readonly limitBytes: number;
  constructor(message: string, neededBytes: number, limitBytes: number) {
    super('E_MEMORY_LIMIT', message);
    this.neededBytes = neededBytes;
    this.limitBytes = limitBytes;
  }
}

/** An optimizer's per-variable state cannot be found or kept in step with the masks (an unknown optimizer class). */
export class OptimizerStateError extends DynapruneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_OPTIMIZER_STATE', message, options);
  }
}

/**
 * Training stopped on request (an aborted `signal`) at an epoch boundary, after that epoch's metrics and
 * checkpoint were written; training again with `resume` continues exactly where it stopped.
 */
export class TrainingStoppedError extends DynapruneError {
  /** Epochs done (and checkpointed, when the run has a folder) by the training call that stopped. */
  readonly epochsDone: number;
  constructor(epochsDone: number, epochs: number, runDir: string | undefined) {
    super(
      'E_STOPPED',
      `Training stopped on request after epoch ${epochsDone} of ${epochs}. ` +
        (runDir !== undefined
          ? `Its checkpoint is in ${runDir}: train again with resume (--resume) to continue.`
          : 'It had no run folder, so nothing was saved to resume from.'),
    );
    this.epochsDone = epochsDone;
  }
}
