// The files of one training run: config.json, metrics.jsonl, sparsity.jsonl (checkpoints live beside them).
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

const jsonLines = (rows: readonly unknown[]): string =>
  rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Writes a run's files atomically; each write replaces the whole file, so a reader never sees half a line. */
export class RunFolder {
  constructor(readonly dir: string) {}

  /** The folder of the final tfjs model. */
  get modelDir(): string {
    return join(this.dir, 'model');
  }

  async writeConfig(config: unknown): Promise<void> {
    await writeFileAtomic(join(this.dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  }

  async writeMetrics(rows: readonly unknown[]): Promise<void> {
    await writeFileAtomic(join(this.dir, 'metrics.jsonl'), jsonLines(rows));
  }

  async writeSparsity(rows: readonly unknown[]): Promise<void> {
    await writeFileAtomic(join(this.dir, 'sparsity.jsonl'), jsonLines(rows));
  }

  async writeJson(name: string, value: unknown): Promise<void> {
    await writeFileAtomic(join(this.dir, name), JSON.stringify(value, null, 2) + '\n');
  }
}
