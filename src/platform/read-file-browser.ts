// The browser's stand-in for read-file.ts (package.json maps `#platform/read-file` here under the `browser`
// condition), so bundlers drop node:fs with no configuration. Browsers load containers from URLs or bytes.
import { InvalidArgumentError } from '../errors.js';
import type * as NodeReadFile from './read-file.js';

export const readFile: typeof NodeReadFile.readFile = () => {
  throw new InvalidArgumentError(
    'Reading a file by path needs Node.js; in a browser pass a URL, an ArrayBuffer, a Uint8Array or a Response.',
  );
};
