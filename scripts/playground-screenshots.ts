// Screenshots of the playground for the README: serves the given models with the built page (dist/playground),
// drives headless Chromium through the stored point, a further-pruned one, and fine-tuning at that point, writes
// docs/img/*.png, and prints the fine-tuning's figures (for docs/RESULTS.md) as the last line, in JSON.
//
// Run (after npm run build): npx tsx --conditions=dynaprune-source scripts/playground-screenshots.ts \
//   --data-dir ../shared/data/cifar10 [--sparsity 0.98] [--fine-tune-at 0.95] [--epochs 2] RUN_OR_DPR...
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/browser/chromium.js';
import { loadDataset } from '../src/data/registry.js';
import type { Dataset } from '../src/data/types.js';
import { startPlayground } from '../src/playground/server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1]! : fallback;
};
const dataDir = flag('--data-dir', '');
const pruned = flag('--sparsity', '0.98');
const fineTuneAt = flag('--fine-tune-at', '0.95');
const epochs = flag('--epochs', '2');
const IMAGES = 'docs/img';

const loaded = new Map<string, Promise<Dataset>>();
const load = (dataset: string): Promise<Dataset> => {
  if (!loaded.has(dataset))
    loaded.set(
      dataset,
      loadDataset(dataset, { ...(dataDir ? { dataDir } : {}), trainLimit: 500, testLimit: 500 }),
    );
  return loaded.get(dataset)!;
};
const playground = await startPlayground({
  models: args,
  assetsDir: join(ROOT, 'dist', 'playground'),
  testImages: async (d) => {
    const data = await load(d);
    return { ...data.test, shape: data.inputShape, labelNames: data.labelNames };
  },
  trainImages: async (d) => {
    const data = await load(d);
    return { ...data.train, shape: data.inputShape, labelNames: data.labelNames };
  },
});
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  type Shown = { state: string; measurements: number; fineTune?: { state: string } };
  const settled = (n: number) =>
    page.waitForFunction(
      (m) => {
        const p = (window as unknown as { playground?: Shown }).playground;
        return p?.state === 'ready' && p.measurements >= m;
      },
      n,
      { timeout: 120_000 },
    );
  await page.goto(playground.url);
  await settled(1);
  await mkdir(join(ROOT, IMAGES), { recursive: true });
  await page.screenshot({ path: join(ROOT, IMAGES, 'playground.png'), fullPage: true });
  await page.locator('#sparsity').fill(pruned);
  await settled(2);
  await page.screenshot({ path: join(ROOT, IMAGES, 'playground-pruned.png'), fullPage: true });
  await page.locator('#sparsity').fill(fineTuneAt);
  await settled(3);
  await page.locator('#finetune-epochs').fill(epochs);
  await page.locator('#finetune-start').click();
  await page.waitForFunction(
    () =>
      ['done', 'failed'].includes(
        (window as unknown as { playground: Shown }).playground.fineTune?.state ?? '',
      ),
    undefined,
    { timeout: 1_800_000 },
  );
  await page.screenshot({ path: join(ROOT, IMAGES, 'playground-finetuned.png'), fullPage: true });
  const fineTune = await page.evaluate(
    () => (window as unknown as { playground: { fineTune: unknown } }).playground.fineTune,
  );
  console.log(`wrote ${IMAGES}/playground.png, playground-pruned.png, playground-finetuned.png`);
  console.log(JSON.stringify({ loadAverage: loadavg()[0], fineTune }));
} finally {
  await browser.close();
  await playground.close();
}
