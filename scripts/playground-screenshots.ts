// Screenshots of the playground for the README: serves the given models with the built page (dist/playground),
// drives headless Chromium through the stored point and a further-pruned one, and writes docs/img/*.png.
//
// Run (after npm run build): npx tsx --conditions=dynaprune-source scripts/playground-screenshots.ts \
//   --data-dir ../shared/data/cifar10 RUN_OR_DPR...
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/browser/chromium.js';
import { loadDataset } from '../src/data/registry.js';
import { startPlayground } from '../src/playground/server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const dataDirAt = args.indexOf('--data-dir');
const dataDir = dataDirAt >= 0 ? args.splice(dataDirAt, 2)[1] : undefined;
const sparsityAt = args.indexOf('--sparsity');
const pruned = sparsityAt >= 0 ? args.splice(sparsityAt, 2)[1]! : '0.98';

const playground = await startPlayground({
  models: args,
  assetsDir: join(ROOT, 'dist', 'playground'),
  testImages: async (dataset) => {
    const data = await loadDataset(dataset as 'cifar10', {
      ...(dataDir ? { dataDir } : {}),
      trainLimit: 1,
      testLimit: 500,
    });
    return { ...data.test, shape: data.inputShape, labelNames: data.labelNames };
  },
});
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const settled = (n: number) =>
    page.waitForFunction(
      (m) => {
        const p = (window as unknown as { playground?: { state: string; measurements: number } })
          .playground;
        return p?.state === 'ready' && p.measurements >= m;
      },
      n,
      { timeout: 120_000 },
    );
  await page.goto(playground.url);
  await settled(1);
  await mkdir(join(ROOT, 'docs', 'img'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'docs', 'img', 'playground.png'), fullPage: true });
  await page.locator('#sparsity').fill(pruned);
  await settled(2);
  await page.screenshot({
    path: join(ROOT, 'docs', 'img', 'playground-pruned.png'),
    fullPage: true,
  });
  console.log('wrote docs/img/playground.png and docs/img/playground-pruned.png');
} finally {
  await browser.close();
  await playground.close();
}
