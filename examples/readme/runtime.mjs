import { loadNetwork } from 'dynaprune/runtime';

const net = await loadNetwork('runs/dsr/model.dpr'); // path (Node), URL, ArrayBuffer or Response
console.log(net.engine); // 'wasm-simd', or 'reference' (with a warning) without SIMD
const images = new Float32Array(2 * 32 * 32 * 3); // NHWC, pixels in [0, 1]
const probabilities = net.predict(images, 2); // [batch, classes]
console.log(probabilities);
