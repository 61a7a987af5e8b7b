// dynaprune is an ES module. In a CommonJS project (`npm init -y`), load it with import(), or name your
// files .mjs.
async function main() {
  const { loadNetwork } = await import('dynaprune/runtime');
  const net = await loadNetwork('runs/dsr/model.dpr');
  console.log(net.predict(new Float32Array(32 * 32 * 3), 1));
}
main();
