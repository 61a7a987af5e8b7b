// The package's version as a constant, for files it writes (the container's provenance); a test keeps it equal to package.json.
export const DYNAPRUNE_VERSION = '0.1.0';
