// Node's file reading for the container loader, behind `#platform/read-file` (read-file-browser.ts in browser bundles).
export { readFile } from 'node:fs/promises';
