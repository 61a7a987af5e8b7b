// Both entries bundle for the browser with no flags: `esbuild --bundle --platform=browser` on a user's file that
// imports `dynaprune/runtime`, and on one that imports `dynaprune`, resolved by name from node_modules.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, installDynaprune } from './installed-package.js';

describe('bundling for the browser without configuration', () => {
  let project = '';
  beforeAll(async () => {
    project = await installDynaprune();
  });
  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('bundles an app importing dynaprune/runtime, without node:fs or tfjs', async () => {
    const entry = join(project, 'runtime-app.js');
    await writeFile(
      entry,
      "import { loadNetwork } from 'dynaprune/runtime';\n" +
        "loadNetwork('model.dpr').then((net) => console.log(net.engine));\n",
    );
    const result = await bundleForBrowser(project, entry, 'runtime-app.out.js');
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.code).toBe(0);
    const code = new TextDecoder().decode(result.bytes);
    expect(code).not.toMatch(/node:fs/);
    expect(code).not.toMatch(/@tensorflow/);
    // The runtime (kernels embedded) is tens of kilobytes; tfjs leaking in would make it megabytes.
    expect(gzipSync(result.bytes).length).toBeLessThan(100_000);
  });

  it('bundles an app importing the main entry (training in the browser)', async () => {
    const entry = join(project, 'train-app.js');
    await writeFile(
      entry,
      "import { DSR, DynamicConv2D, DynamicDense, initBackend, loadSparse, train } from 'dynaprune';\n" +
        'console.log(DSR, DynamicConv2D, DynamicDense, initBackend, loadSparse, train);\n',
    );
    const result = await bundleForBrowser(project, entry, 'train-app.out.js');
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.code).toBe(0);
    expect(new TextDecoder().decode(result.bytes)).not.toMatch(/from ?"node:/);
  });
});
