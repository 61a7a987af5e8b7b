// Progress bars for long work (cli-progress), drawn on stderr so stdout stays clean for results.
import { SingleBar, Presets } from 'cli-progress';
import type { DataProgress } from '../data/types.js';
import type { BatchProgress } from '../train/trainer.js';

const formatEta = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
};

/** One bar per epoch: batches done, images/s, ETA, running loss and accuracy. */
export class EpochProgress {
  private bar: SingleBar | undefined;
  private readonly enabled: boolean;

  constructor(public label = '') {
    this.enabled = process.stderr.isTTY === true || process.env['DYNAPRUNE_PROGRESS'] === '1';
  }

  begin(epoch: number, epochs: number, batches: number): void {
    this.end();
    const prefix = `${this.label}epoch ${epoch}/${epochs}`;
    if (!this.enabled) {
      process.stderr.write(`${prefix}: ${batches} batches\n`);
      return;
    }
    this.bar = new SingleBar(
      {
        format: `${prefix} |{bar}| {value}/{total} batches | {ips} img/s | ETA {etaText} | loss {loss} acc {acc}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    this.bar.start(batches, 0, { ips: '-', etaText: '--', loss: '-', acc: '-' });
  }

  update(p: BatchProgress): void {
    if (!this.bar) return;
    const remaining = (p.elapsedSeconds / Math.max(p.batch, 1)) * (p.batches - p.batch);
    this.bar.update(p.batch, {
      ips: p.imagesPerSecond.toFixed(0),
      etaText: formatEta(remaining),
      loss: p.loss.toFixed(4),
      acc: p.acc.toFixed(4),
    });
  }

  end(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** One bar for each phase of getting data: download, checksum, extraction (bytes). */
export class DataProgressBar {
  private bar: SingleBar | undefined;
  private phase: string | undefined;
  private readonly enabled =
    process.stderr.isTTY === true || process.env['DYNAPRUNE_PROGRESS'] === '1';

  update(p: DataProgress): void {
    if (p.phase !== this.phase) {
      this.end();
      this.phase = p.phase;
      if (!this.enabled) {
        process.stderr.write(`${p.phase}...\n`);
        return;
      }
      this.bar = new SingleBar(
        {
          format: `${p.phase.padEnd(8)} |{bar}| {percentage}% | {done} / {totalText} MB`,
          stream: process.stderr,
          hideCursor: true,
        },
        Presets.shades_classic,
      );
      this.bar.start(p.bytesTotal ?? 1, 0, {
        done: '0',
        totalText: p.bytesTotal ? (p.bytesTotal / 1e6).toFixed(0) : '?',
      });
    }
    this.bar?.update(p.bytesTotal ? p.bytesDone : 0, { done: (p.bytesDone / 1e6).toFixed(1) });
  }

  end(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.phase = undefined;
  }
}
