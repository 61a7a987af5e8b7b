// Static sparse training: a fixed random mask chosen at initialization, never changed.
import { neverSchedule, type SparseAlgorithm, type UpdateResult } from './algorithm.js';

/** The baseline every dynamic method is compared with (as in the DSR and RigL papers). */
export class StaticMask implements SparseAlgorithm {
  readonly name = 'static';
  readonly schedule = neverSchedule;

  update(): UpdateResult {
    return { facts: {} };
  }

  getState(): Record<string, unknown> {
    return {};
  }

  setState(): void {}
}
