import { writeFile } from 'node:fs/promises';
import { exportSparse, loadSparse, toLayersModel, describeModel } from 'dynaprune';
import { loadDynamicModel } from 'dynaprune/node';

const model = await loadDynamicModel('runs/dsr/model'); // a run's final model; the dynamic layers are registered
const bytes = exportSparse(model, { values: 'fp32' }); // Uint8Array, lossless
await writeFile('dsr.dpr', bytes);
const graph = await loadSparse('dsr.dpr'); // path (Node), URL, ArrayBuffer or Response
const dense = toLayersModel(graph); // a plain tfjs model, for any backend
console.log(describeModel(bytes)); // per-layer bits per nonzero and the yardsticks
dense.dispose();
