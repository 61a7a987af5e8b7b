// The playground's catalog: what `dynaprune serve` shows of each model given (a run folder or a .dpr file).
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DataNotFoundError } from '../errors.js';
import { decodeModel } from '../format/decode.js';
import type { ModelMetadata } from '../format/metadata.js';
import type { ModelGraph } from '../graph/types.js';

/** One weight layer as stored. */
export interface CatalogLayer {
  readonly name: string;
  readonly op: 'conv2d' | 'dense';
  readonly size: number;
  readonly nnz: number;
}

/** A model as the page lists it; the container itself is served at `/models/<id>.dpr`. */
export interface CatalogModel {
  readonly id: string;
  readonly name: string;
  /** The dataset whose test images the page runs it on. */
  readonly dataset: string;
  /** Report figures: from the run's config.json and result.json, or the container's metadata. */
  readonly figures: Readonly<Record<string, string | number>>;
  readonly layers: readonly CatalogLayer[];
  readonly containerBytes: number;
  /** The run's plots (SVG or PNG), served at `/models/<id>/<file>`. */
  readonly plots: readonly string[];
}

/** A catalog entry with the server-side paths behind it. */
export interface CatalogEntry {
  readonly model: CatalogModel;
  readonly container: Uint8Array;
  readonly plotDir?: string;
}

const readJson = async (path: string): Promise<Record<string, unknown> | undefined> => {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/** Scalars worth showing, with readable names, in a stable order. */
function pickFigures(
  sources: readonly (Record<string, unknown> | undefined)[],
  keys: readonly string[],
): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const key of keys) {
    for (const source of sources) {
      const v = source?.[key];
      if (typeof v === 'number' || typeof v === 'string') {
        out[key] = v;
        break;
      }
    }
  }
  return out;
}

const FIGURE_KEYS = [
  'model',
  'method',
  'sparsity',
  'distribution',
  'epochs',
  'testAcc',
  'testLoss',
  'nnz',
  'parameters',
  'globalSparsity',
  'trainSeconds',
  'modelName',
];

/** What the container's provenance says (FORMAT.md, "Metadata"), under the names the run files use. */
function provenanceFigures(graph: ModelGraph): Record<string, unknown> | undefined {
  const p = (graph.metadata as ModelMetadata).provenance;
  if (!p) return undefined;
  return { method: p.method, sparsity: p.sparsity, testAcc: p.testAccuracy, dataset: p.dataset };
}

/** The dataset a graph was trained on: what its run or metadata says, else guessed from the input shape. */
function datasetOf(graph: ModelGraph, config: Record<string, unknown> | undefined): string {
  const named =
    config?.['dataset'] ??
    (graph.metadata as ModelMetadata).provenance?.dataset ??
    graph.metadata['dataset'];
  if (typeof named === 'string') return named;
  const input = graph.nodes[0];
  const shape = input?.op === 'input' ? input.shape.join('x') : '';
  return shape === '28x28x1' ? 'fashion-mnist' : 'cifar10';
}

function layersOf(graph: ModelGraph): CatalogLayer[] {
  return graph.nodes.flatMap((n) => {
    if (n.op !== 'conv2d' && n.op !== 'dense') return [];
    const w = n.weight;
    const nnz = w.kind === 'csr' ? w.values.length : w.values.filter((v) => v !== 0).length;
    return [{ name: n.name, op: n.op, size: w.rows * w.cols, nnz }];
  });
}

/**
 * Reads one model for the catalog: a run folder (its model.dpr, config.json, result.json and plots) or a
 * .dpr file. Throws DataNotFoundError when there is no container to serve.
 */
export async function catalogEntry(path: string, id: string): Promise<CatalogEntry> {
  const info = await stat(path).catch(() => undefined);
  if (!info)
    throw new DataNotFoundError(`${path} does not exist: give a run folder or a .dpr file.`);
  const dir = info.isDirectory() ? path : undefined;
  const file = dir ? join(dir, 'model.dpr') : path;
  const container = await readFile(file).catch(() => {
    throw new DataNotFoundError(
      `${dir} has no model.dpr: export the run first (dynaprune export ${dir}).`,
    );
  });
  const graph = decodeModel(container, { name: file });
  const config = dir ? await readJson(join(dir, 'config.json')) : undefined;
  const result = dir ? await readJson(join(dir, 'result.json')) : undefined;
  const plots = dir ? (await readdir(dir)).filter((f) => /\.(svg|png)$/i.test(f)).sort() : [];
  return {
    model: {
      id,
      name: basename(dir ?? file.replace(/\.dpr$/i, '')),
      dataset: datasetOf(graph, config),
      figures: pickFigures([result, config, provenanceFigures(graph), graph.metadata], FIGURE_KEYS),
      layers: layersOf(graph),
      containerBytes: container.length,
      plots,
    },
    container: new Uint8Array(container),
    ...(dir ? { plotDir: dir } : {}),
  };
}
