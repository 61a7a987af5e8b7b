// Importing dynaprune's entry points changes nothing: no tfjs backend, kernel or layer class registered, no
// tensor made, no global set, nothing printed (DESIGN.md: "src/index.ts has no side effects on import").
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** Everything an import could change behind a user's back, as plain data to compare. */
function observable() {
  const engine = tf.engine();
  const backends = Object.keys(engine.registryFactory).sort();
  return {
    backends,
    startedBackends: Object.keys(engine.registry).sort(),
    kernels: backends.map((b) =>
      tf
        .getKernelsForBackend(b)
        .map((k) => k.kernelName)
        .sort(),
    ),
    layerClasses: Object.keys(tf.serialization.SerializationMap.getMap().classNameMap).sort(),
    // tf.memory() would start a backend itself; the engine's own count does not.
    tensors: engine.state.numTensors,
    flags: { ...tf.env().getFlags() },
    globals: Object.getOwnPropertyNames(globalThis).sort(),
  };
}

describe('importing the entry points', () => {
  afterEach(() => vi.restoreAllMocks());

  it('dynaprune, dynaprune/node and dynaprune/runtime register, allocate, set and print nothing', async () => {
    const before = observable();
    const printed: unknown[] = [];
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
      vi.spyOn(console, method).mockImplementation((...args) => printed.push(args));
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => printed.push(chunk) > 0);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => printed.push(chunk) > 0);

    const main = await import('../../src/index.js');
    await import('../../src/node.js');
    await import('../../src/runtime/index.js');

    vi.restoreAllMocks();
    expect(printed).toEqual([]);
    expect(observable()).toEqual(before);
    // The registrations the imports leave out are there to be made on request.
    main.registerDynamicLayers();
    expect(observable().layerClasses).toEqual(
      expect.arrayContaining(['DynamicConv2D', 'DynamicDense']),
    );
  });
});
