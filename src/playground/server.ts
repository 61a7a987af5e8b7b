// The playground's HTTP server: the built page, the models' containers and figures, and test images, all local.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataNotFoundError } from '../errors.js';
import type { ImageShape } from '../data/types.js';
import { catalogEntry, type CatalogEntry } from './catalog.js';

/** A dataset's images (test or training) as the page receives them: uint8 NHWC pixels and one label byte each. */
export interface TestImages {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly shape: ImageShape;
  readonly labelNames: readonly string[];
}

export interface PlaygroundOptions {
  /** Run folders or .dpr files, listed in this order. */
  readonly models: readonly string[];
  /** Default 127.0.0.1: the page is for this machine unless the user says otherwise. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** The test images of a dataset (the CLI loads them from the local copy; nothing is downloaded here). */
  readonly testImages: (dataset: string) => Promise<TestImages>;
  /**
   * A few hundred training images of a dataset, for the page's "fine-tune here"; without it the page says
   * that this server offers none.
   */
  readonly trainImages?: (dataset: string) => Promise<TestImages>;
  /** The built page (index.html, app.js, style.css); default: dist/playground beside this module. */
  readonly assetsDir?: string;
}

export interface Playground {
  readonly url: string;
  close(): Promise<void>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.dpr': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
};

/**
 * The built page's files: index.html, style.css, app.js and its chunks (flat names, no path can leave the folder),
 * and tfjs-backend-wasm's binaries under wasm/ for the fine-tuning chunk.
 */
const ASSET = /^(?:wasm\/)?[\w-]+(?:\.[\w-]+)*\.(?:html|css|js|wasm)$/;

/** Reads an asset of the built page; undefined when the build has no such file. */
async function readAsset(assetsDir: string, asset: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(join(assetsDir, asset));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function send(res: ServerResponse, status: number, type: string, body: Uint8Array | string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** Test images as one body: the pixels, then the labels. */
function imagesBody(t: TestImages): Uint8Array {
  const body = new Uint8Array(t.images.length + t.labels.length);
  body.set(t.images);
  body.set(t.labels, t.images.length);
  return body;
}

/** Routes one request; returns false when nothing matches (a 404). */
async function route(
  url: URL,
  res: ServerResponse,
  entries: readonly CatalogEntry[],
  assetsDir: string,
  images: (dataset: string, split: 'test' | 'train') => Promise<TestImages> | undefined,
): Promise<boolean> {
  const path = decodeURIComponent(url.pathname);
  const asset = path === '/' ? 'index.html' : path.slice(1);
  if (ASSET.test(asset)) {
    const body = await readAsset(assetsDir, asset);
    if (body === undefined) return false;
    send(res, 200, TYPES[extname(asset)]!, body);
    return true;
  }
  if (path === '/api/models') {
    send(res, 200, TYPES['.json']!, JSON.stringify({ models: entries.map((e) => e.model) }));
    return true;
  }
  const model = /^\/models\/(\d+)(?:\.dpr|\/([\w.-]+\.(?:svg|png)))$/.exec(path);
  if (model) {
    const entry = entries[Number(model[1])];
    if (!entry) return false;
    if (!model[2]) {
      send(res, 200, TYPES['.dpr']!, entry.container);
      return true;
    }
    if (!entry.plotDir || !entry.model.plots.includes(model[2])) return false;
    send(res, 200, TYPES[extname(model[2])]!, await readFile(join(entry.plotDir, model[2])));
    return true;
  }
  // /data/<dataset>.json|bin: test images; /data/<dataset>/train.json|bin: training images.
  const data = /^\/data\/([\w-]+)(\/train)?\.(json|bin)$/.exec(path);
  if (data) {
    const pending = images(data[1]!, data[2] ? 'train' : 'test');
    if (!pending) return false;
    const t = await pending;
    if (data[3] === 'json') {
      const { count, shape, labelNames } = t;
      send(res, 200, TYPES['.json']!, JSON.stringify({ count, shape, labelNames }));
    } else send(res, 200, TYPES['.bin']!, imagesBody(t));
    return true;
  }
  return false;
}

/**
 * Starts the playground: reads every model given (typed errors for a missing or corrupt one), then serves the
 * page and its data on `host:port`. Nothing is fetched from elsewhere, so it works offline.
 */
export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  if (options.models.length === 0)
    throw new DataNotFoundError('Give at least one run folder or .dpr file to serve.');
  const entries = await Promise.all(options.models.map((m, i) => catalogEntry(m, String(i))));
  const assetsDir = options.assetsDir ?? fileURLToPath(new URL('.', import.meta.url));
  const cache = new Map<string, Promise<TestImages>>();
  const images = (dataset: string, split: 'test' | 'train'): Promise<TestImages> | undefined => {
    const load = split === 'test' ? options.testImages : options.trainImages;
    if (!load) return undefined;
    const key = `${split}:${dataset}`;
    if (!cache.has(key)) cache.set(key, load(dataset));
    return cache.get(key)!;
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    route(url, res, entries, assetsDir, images).then(
      (found) => {
        if (!found) send(res, 404, 'text/plain', 'not found');
      },
      (error: unknown) => send(res, 500, 'text/plain', String((error as Error).message ?? error)),
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
