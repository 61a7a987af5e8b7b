// Shared by the browser tests: Debian's Chromium through playwright-core, and a static file server on 127.0.0.1.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** Warns once per test file when the browser is missing, so a skip is never silent. */
export function warnIfNoChromium(): void {
  if (!haveChromium)
    console.warn(`SKIPPED browser test: ${CHROMIUM} is absent (apt-get install chromium).`);
}

/** Headless Chromium with the flags the project's CI uses. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
}

export interface StaticFile {
  readonly type: string;
  readonly body: Uint8Array | string;
}

/** Serves a fixed set of files by exact URL path; everything else is a 404. */
export async function serveFiles(
  files: Readonly<Record<string, StaticFile>>,
): Promise<{ base: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const file = files[(req.url ?? '').split('?')[0]!];
    if (!file) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type });
    res.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Waits for the page to publish `window.result` and returns it. */
export async function pageResult<T>(page: Page, timeout: number): Promise<T> {
  await page.waitForFunction(
    () => (window as unknown as { result?: unknown }).result !== undefined,
    undefined,
    { timeout },
  );
  return (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as T;
}
