// The browser's stand-in for run-files.ts (package.json maps `#platform/run-files` here under the `browser`
// condition): training runs in a browser, but writing a run folder needs Node's file system.
import { InvalidArgumentError } from '../errors.js';
import type * as NodeRunFiles from './run-files.js';

const refuse = (): never => {
  throw new InvalidArgumentError(
    'train({ runDir }) writes a run folder and checkpoints, which needs Node.js; leave runDir unset in a browser.',
  );
};

export const hasCheckpoint: typeof NodeRunFiles.hasCheckpoint = refuse;
export const loadCheckpoint: typeof NodeRunFiles.loadCheckpoint = refuse;
export const saveCheckpoint: typeof NodeRunFiles.saveCheckpoint = refuse;
export class RunFolder {
  constructor(readonly dir: string) {
    refuse();
  }
}
