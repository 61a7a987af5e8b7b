// The playground page's script (bundled into dist/playground/app.js): loads a model with dynaprune/runtime, runs it
// on the dataset's test images, re-prunes it live from the slider, classifies dropped images, and fine-tunes the
// model at the slider's point in the browser (that code is a chunk loaded on first use).
import { loadNetwork, type Network } from '../runtime/index.js';
import type { InputSpec } from '../format/metadata.js';
import type { PruneScope } from '../graph/prune.js';
import { measureAccuracy, measureLatency } from '../runtime/measure.js';
import type { CatalogModel } from './catalog.js';
import { wireFineTune, type FineTuneState, type ImageSet } from './fine-tune-panel.js';
import { inputSpec, labelNames, scaleInput, trainsLikeDynaprune, type Source } from './labels.js';

/** Test images the page evaluates on at every slider position (a few hundred: fast enough to follow it). */
const EVAL_IMAGES = Number(new URLSearchParams(location.search).get('images') ?? 300);
const GALLERY = 16;

type TestSet = ImageSet;

/** What the page shows now; also published as `window.playground` for tests and curious users. */
interface PageState {
  state: 'loading' | 'ready' | 'busy' | 'failed';
  model?: string;
  engine?: string;
  /** The slider's target; 0 means the stored weights. */
  sparsity: number;
  scope: PruneScope;
  nnz?: number;
  layers?: { name: string; nnz: number; storedNnz: number; size: number }[];
  accuracy?: number;
  latencyMs?: number;
  switchMs?: number;
  /** How many times accuracy and latency were measured (once per settled slider position). */
  measurements: number;
  predictions?: number[];
  dropped?: { label: string; probability: number }[];
  /** How the page feeds the model and names its classes: from the file's metadata, or defaults for older files. */
  feeding?: { input: Source; labels: Source; divisor: number };
  fineTune?: FineTuneState;
  error?: string;
}

const state: PageState = { state: 'loading', sparsity: 0, scope: 'layer', measurements: 0 };
(window as unknown as { playground: PageState }).playground = state;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const testSets = new Map<string, Promise<TestSet>>();
let models: CatalogModel[] = [];
let current:
  | {
      model: CatalogModel;
      net: Network;
      container: Uint8Array;
      test: TestSet;
      spec: InputSpec;
      names: readonly string[];
      scaled: Float32Array;
    }
  | undefined;

const fineTunePanel = wireFineTune({
  current: () => {
    if (!current) return undefined;
    const { model, container, test, names, spec } = current;
    return {
      name: model.name,
      container,
      dataset: model.dataset,
      heldOut: test,
      heldOutCount: Math.min(EVAL_IMAGES, test.count),
      labels: names,
      ...(trainsLikeDynaprune(spec)
        ? {}
        : {
            refusal:
              "Fine-tuning here feeds bytes / 255 (dynaprune's training); this model's input block asks for another scaling.",
          }),
    };
  },
  point: async () => {
    if (pending) await pending;
    return { sparsity: state.sparsity, scope: state.scope, accuracy: state.accuracy ?? NaN };
  },
  show: async (name, container, figures) => {
    await addContainer(name, container.slice().buffer, figures);
    return state.accuracy ?? NaN;
  },
  publish: (fineTune) => {
    state.fineTune = fineTune;
    const busy = fineTune !== undefined && !['done', 'failed'].includes(fineTune.state);
    $<HTMLInputElement>('sparsity').disabled = busy;
    $<HTMLSelectElement>('scope').disabled = busy;
  },
});

function setState(next: PageState['state']): void {
  state.state = next;
  document.body.dataset['state'] = next;
}

async function fetchTestSet(dataset: string): Promise<TestSet> {
  const meta = (await (await fetch(`data/${dataset}.json`)).json()) as Omit<
    TestSet,
    'pixels' | 'labels'
  >;
  const body = new Uint8Array(await (await fetch(`data/${dataset}.bin`)).arrayBuffer());
  const pixels = body.subarray(0, body.length - meta.count);
  return { ...meta, pixels, labels: body.subarray(pixels.length) };
}

function testSet(dataset: string): Promise<TestSet> {
  if (!testSets.has(dataset)) testSets.set(dataset, fetchTestSet(dataset));
  return testSets.get(dataset)!;
}

function renderModels(): void {
  const list = $('models');
  list.replaceChildren(
    ...models.map((m) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.textContent = `${m.name} (${m.dataset})`;
      button.className = current?.model.id === m.id ? 'active' : '';
      button.dataset['id'] = m.id;
      button.addEventListener('click', () => void selectModel(m, `models/${m.id}.dpr`));
      li.append(button);
      return li;
    }),
  );
}

function renderFigures(model: CatalogModel): void {
  $('model-name').textContent = model.name;
  const dl = $('figures');
  const rows = Object.entries(model.figures).flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent =
      typeof v === 'number' && /acc|sparsity/i.test(k) ? `${(100 * v).toFixed(2)}%` : String(v);
    return [dt, dd];
  });
  const size = document.createElement('dt');
  size.textContent = 'container';
  const sizeValue = document.createElement('dd');
  sizeValue.textContent = `${(model.containerBytes / 1024).toFixed(1)} KiB`;
  dl.replaceChildren(...rows, size, sizeValue);
  $('plots').replaceChildren(
    ...model.plots.map((p) => {
      const img = document.createElement('img');
      img.src = `models/${model.id}/${p}`;
      img.alt = p;
      return img;
    }),
  );
}

function renderLayers(): void {
  const layers = state.layers ?? [];
  $('layers')
    .querySelector('tbody')!
    .replaceChildren(
      ...layers.map((l) => {
        const tr = document.createElement('tr');
        const density = l.nnz / l.size;
        const op = current?.model.layers.find((c) => c.name === l.name)?.op ?? '';
        for (const text of [l.name, op, l.size, l.storedNnz, l.nnz]) {
          const td = document.createElement('td');
          td.textContent = typeof text === 'number' ? text.toLocaleString('en') : text;
          tr.append(td);
        }
        const td = document.createElement('td');
        const bar = document.createElement('span');
        bar.className = 'bar';
        bar.style.width = `${Math.max(1, 100 * density)}px`;
        td.append(bar, ` ${(100 * density).toFixed(1)}%`);
        tr.append(td);
        return tr;
      }),
    );
}

/** Draws image `index` of the test set (or any uint8 HWC pixels) on a canvas of its own size. */
function drawImage(pixels: Uint8Array, shape: readonly number[]): HTMLCanvasElement {
  const [h, w, c] = shape as [number, number, number];
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) image.data[p * 4 + k] = pixels[p * c + (c === 1 ? 0 : k)]!;
    image.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function renderGallery(): void {
  if (!current || !state.predictions) return;
  const { test, names } = current;
  const per = test.shape[0] * test.shape[1] * test.shape[2];
  const count = Math.min(GALLERY, state.predictions.length);
  $('gallery').replaceChildren(
    ...Array.from({ length: count }, (_, i) => {
      const figure = document.createElement('figure');
      const predicted = state.predictions![i]!;
      figure.className = predicted === test.labels[i] ? 'right' : 'wrong';
      const caption = document.createElement('figcaption');
      caption.textContent = `${names[predicted] ?? predicted} (true: ${names[test.labels[i]!] ?? test.labels[i]})`;
      figure.append(drawImage(test.pixels.subarray(i * per, (i + 1) * per), test.shape), caption);
      return figure;
    }),
  );
}

function renderStats(): void {
  const pct = (v: number | undefined) => (v === undefined ? '…' : `${(100 * v).toFixed(1)}%`);
  $('accuracy').textContent =
    state.accuracy === undefined ? '…' : `${pct(state.accuracy)} of ${EVAL_IMAGES} images`;
  $('latency').textContent =
    state.latencyMs === undefined ? '…' : `${state.latencyMs.toFixed(2)} ms`;
  const total = state.layers?.reduce((a, l) => a + l.size, 0) ?? 0;
  $('nnz').textContent =
    state.nnz === undefined
      ? '…'
      : `${state.nnz.toLocaleString('en')} (${pct(1 - state.nnz / total)} sparse)`;
  $('switch').textContent = state.switchMs === undefined ? '…' : `${state.switchMs.toFixed(1)} ms`;
  $('sparsity-value').textContent =
    state.sparsity === 0 ? 'stored weights' : `${(100 * state.sparsity).toFixed(1)}%`;
}

/** Re-prunes to the state's target, then measures accuracy and latency there. */
function evaluateHere(): void {
  if (!current) return;
  const { net, test, scaled } = current;
  const t0 = performance.now();
  const layers = net.setSparsity(state.sparsity, { scope: state.scope });
  state.switchMs = performance.now() - t0;
  state.layers = layers.map((l) => ({ ...l }));
  state.nnz = layers.reduce((a, l) => a + l.nnz, 0);
  const count = Math.min(EVAL_IMAGES, test.count);
  const result = measureAccuracy(net, scaled, test.labels, count);
  state.accuracy = result.accuracy;
  state.predictions = Array.from(result.predictions);
  state.latencyMs = measureLatency(net, scaled, count);
  state.measurements++;
  renderStats();
  renderLayers();
  renderGallery();
}

/**
 * Slider moves arrive faster than evaluations finish: evaluate the latest target once the last one is done. The
 * promise settles when the evaluation that will see this request has run.
 */
let pending: Promise<void> | undefined;
function scheduleEvaluation(): Promise<void> {
  if (pending) return pending;
  setState('busy');
  pending = new Promise((resolve) =>
    setTimeout(() => {
      pending = undefined;
      try {
        evaluateHere();
        setState('ready');
      } catch (error) {
        fail(error);
      }
      resolve();
    }, 0),
  );
  return pending;
}

function fail(error: unknown): void {
  state.error = String((error as Error)?.message ?? error);
  $('model-name').textContent = `failed: ${state.error}`;
  setState('failed');
}

/** Where the page's scaling and names come from, shown under the figures. */
function renderFeeding(spec: InputSpec, feeding: NonNullable<PageState['feeding']>): void {
  const scaling =
    `bytes / ${spec.divisor}` +
    (spec.mean ? `, minus mean [${spec.mean.join(', ')}]` : '') +
    (spec.std ? `, over std [${spec.std.join(', ')}]` : '');
  $('feeding').textContent =
    `input: ${scaling} (${feeding.input === 'metadata' ? "the file's input block" : 'default: the file has no input block'}); ` +
    `class names: ${feeding.labels === 'metadata' ? "the file's labels" : "the dataset's (the file has none)"}`;
}

/** Loads a model (a served container, or dropped bytes) and evaluates it at its stored sparsity. */
async function selectModel(model: CatalogModel, source: string | ArrayBuffer): Promise<void> {
  setState('loading');
  try {
    const bytes = new Uint8Array(
      typeof source === 'string' ? await (await fetch(source)).arrayBuffer() : source,
    );
    const [net, test] = await Promise.all([loadNetwork(bytes.slice()), testSet(model.dataset)]);
    const { spec, source: inputSource } = inputSpec(net);
    const { names, source: labelSource } = labelNames(net, test.labelNames);
    current = {
      model,
      net,
      container: bytes,
      test,
      spec,
      names,
      scaled: scaleInput(spec, test.pixels),
    };
    state.model = model.name;
    state.engine = net.engine;
    state.feeding = { input: inputSource, labels: labelSource, divisor: spec.divisor };
    $('engine').textContent = `runtime engine: ${net.engine}`;
    const stored =
      model.layers.reduce((a, l) => a + l.nnz, 0) / model.layers.reduce((a, l) => a + l.size, 0);
    const slider = $<HTMLInputElement>('sparsity');
    slider.min = String(Math.floor((1 - stored) * 200) / 200);
    slider.value = slider.min;
    state.sparsity = 0;
    renderModels();
    renderFigures(model);
    renderFeeding(spec, state.feeding);
    fineTunePanel.refresh();
    await scheduleEvaluation();
  } catch (error) {
    fail(error);
  }
}

/** Classifies a dropped image, resized to the model's input, and shows the top three classes. */
async function classifyFile(file: File): Promise<void> {
  if (!current) return;
  const { net, spec, names } = current;
  const [h, w, c] = net.inputShape as [number, number, number];
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const pixels = new Uint8Array(h * w * c);
  for (let p = 0; p < h * w; p++) {
    if (c === 1) pixels[p] = Math.round((rgba[p * 4]! + rgba[p * 4 + 1]! + rgba[p * 4 + 2]!) / 3);
    else for (let k = 0; k < c; k++) pixels[p * c + k] = rgba[p * 4 + k]!;
  }
  const probabilities = net.predict(scaleInput(spec, pixels), 1);
  const ranked = Array.from(probabilities, (p, i) => ({
    label: names[i] ?? String(i),
    probability: p,
  }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, 3);
  state.dropped = ranked;
  const figure = document.createElement('figure');
  const caption = document.createElement('figcaption');
  caption.className = 'top';
  caption.textContent = ranked
    .map((r) => `${r.label} ${(100 * r.probability).toFixed(1)}%`)
    .join(', ');
  figure.append(drawImage(pixels, [h, w, c]), caption);
  $('dropped').replaceChildren(figure);
}

/** The report figures an added container carries itself: its provenance (method, sparsity, test accuracy). */
function provenanceFigures(net: Network): Record<string, string | number> {
  const p = net.metadata.provenance;
  if (!p) return {};
  const figures: Record<string, string | number> = { sparsity: p.sparsity };
  if (p.method !== null) figures['method'] = p.method;
  if (p.testAccuracy !== null) figures['testAcc'] = p.testAccuracy;
  return figures;
}

/**
 * Adds a container that did not come from the server (a dropped file, a fine-tuned model) to the list and shows
 * it. Its dataset is the one its provenance names, else the current model's.
 */
async function addContainer(
  name: string,
  bytes: ArrayBuffer,
  figures: Record<string, string | number> = {},
): Promise<void> {
  const net = await loadNetwork(bytes.slice(0));
  const layers = net.layerSparsity.map((l) => ({
    name: l.name,
    op: (net.graph.nodes.find((n) => n.name === l.name)?.op ?? 'dense') as 'conv2d' | 'dense',
    size: l.size,
    nnz: l.storedNnz,
  }));
  const model: CatalogModel = {
    id: `added-${models.length}`,
    name,
    dataset: net.metadata.provenance?.dataset ?? current?.model.dataset ?? 'cifar10',
    figures: { ...provenanceFigures(net), ...figures },
    layers,
    containerBytes: bytes.byteLength,
    plots: [],
  };
  models.push(model);
  await selectModel(model, bytes);
}

async function addFiles(files: FileList | readonly File[]): Promise<void> {
  for (const file of Array.from(files)) {
    if (/\.dpr$/i.test(file.name)) await addContainer(file.name, await file.arrayBuffer());
    else await classifyFile(file);
  }
}

function wireControls(): void {
  const slider = $<HTMLInputElement>('sparsity');
  slider.addEventListener('input', () => {
    const v = Number(slider.value);
    state.sparsity = v <= Number(slider.min) ? 0 : v;
    renderStats();
    scheduleEvaluation();
  });
  $<HTMLSelectElement>('scope').addEventListener('change', (e) => {
    state.scope = (e.target as HTMLSelectElement).value as PruneScope;
    scheduleEvaluation();
  });
  const drop = $('drop');
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const files = (e.target as HTMLInputElement).files;
    if (files) void addFiles(files).catch(fail);
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files) void addFiles(e.dataTransfer.files).catch(fail);
  });
}

async function start(): Promise<void> {
  wireControls();
  models = ((await (await fetch('api/models')).json()) as { models: CatalogModel[] }).models;
  renderModels();
  if (models[0]) await selectModel(models[0], `models/${models[0].id}.dpr`);
}

start().catch(fail);
