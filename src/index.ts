// The public API of dynaprune: named exports only, no side effects on import.
export * from './errors.js';
export { Random, type RandomState } from './util/random.js';
export type * from './format/graph.js';
