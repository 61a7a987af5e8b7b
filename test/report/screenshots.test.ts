// The report in headless Chromium at 1440 and 400 px: nothing overflows the page, charts fit at 1280 px.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summaryFromRuns } from '../../src/report/from-runs.js';
import { writeReport } from '../../src/report/report.js';
import { launchChromium, haveChromium, serveFiles, warnIfNoChromium } from '../browser/chromium.js';

const ROOT = join(import.meta.dirname, '../..');
/** The committed small-scale comparison: a real report with every row. */
const RESULTS = join(ROOT, 'results/paper-small-scale');
/**
 * Where the screenshots go: a temporary folder, or docs/ with DYNAPRUNE_SCREENSHOTS=docs
 * (`npm run screenshots`), so an ordinary test run never rewrites tracked files.
 */
const toDocs = process.env['DYNAPRUNE_SCREENSHOTS'] === 'docs';

warnIfNoChromium();
if (!existsSync(join(RESULTS, 'runs')))
  console.warn(`SKIPPED report screenshots: ${RESULTS}/runs is absent.`);

describe('the report in a browser', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!haveChromium || !existsSync(join(RESULTS, 'runs')))(
    'fits 1280 and 400 px screens: tables scroll inside the page, charts stay inside it',
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'dynaprune-shots-'));
      await writeReport(dir, await summaryFromRuns(RESULTS));
      const html = await readFile(join(dir, 'report.html'), 'utf8');
      const server = await serveFiles({ '/report.html': { type: 'text/html', body: html } });
      const browser = await launchChromium();
      try {
        for (const width of [1440, 1280, 400]) {
          const page = await browser.newPage({ viewport: { width, height: 900 } });
          await page.goto(`${server.base}/report.html`);
          const layout = await page.evaluate(() => ({
            page: document.documentElement.scrollWidth,
            view: window.innerWidth,
            charts: [...document.querySelectorAll('figure svg')].map(
              (s) => s.getBoundingClientRect().right,
            ),
            lead: document.querySelector('.lead')?.textContent ?? '',
          }));
          expect(layout.page, `page width at ${width} px`).toBeLessThanOrEqual(layout.view);
          for (const right of layout.charts) expect(right).toBeLessThanOrEqual(layout.view);
          expect(layout.charts.length).toBeGreaterThanOrEqual(3);
          expect(layout.lead.length).toBeGreaterThan(40);
          if (width !== 1280) {
            const out = toDocs ? join(ROOT, 'docs') : dir;
            const png = await page.screenshot({ fullPage: width === 400 ? false : true });
            await writeFile(join(out, `report-${width}px.png`), png);
            expect(png.length).toBeGreaterThan(10_000);
          }
          await page.close();
        }
      } finally {
        await browser.close();
        await server.close();
      }
    },
    180_000,
  );
});
