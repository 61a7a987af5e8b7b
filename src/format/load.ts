// loadSparse: a container from a file path (Node), bytes, a URL or a fetch Response (Node and browsers).
import { DataNotFoundError, InvalidArgumentError } from '../errors.js';
import { decodeModel } from './decode.js';
import type { ModelGraph } from '../graph/types.js';

/** Where a container comes from. Strings are file paths in Node, URLs in browsers (or `http(s):`). */
export type ContainerSource = string | URL | ArrayBuffer | Uint8Array | Response;

const isNode = (): boolean =>
  typeof process !== 'undefined' &&
  typeof process.versions === 'object' &&
  typeof process.versions.node === 'string';

/** The raw bytes of a container, without decoding them. */
export async function readContainerBytes(
  source: ContainerSource,
): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: '<bytes>' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: '<bytes>' };
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok)
      throw new DataNotFoundError(
        `Fetching ${source.url || 'the container'} failed with HTTP ${source.status}.`,
      );
    return { bytes: new Uint8Array(await source.arrayBuffer()), name: source.url || '<response>' };
  }
  const text = source.toString();
  const isUrl = source instanceof URL || /^(https?|blob|data):/i.test(text) || !isNode();
  if (isUrl && !text.startsWith('file:')) {
    let response: Response;
    try {
      response = await fetch(text);
    } catch (error) {
      throw new DataNotFoundError(`Could not fetch ${text} (${(error as Error).message}).`, {
        cause: error,
      });
    }
    if (!response.ok)
      throw new DataNotFoundError(`Fetching ${text} failed with HTTP ${response.status}.`);
    return { bytes: new Uint8Array(await response.arrayBuffer()), name: text };
  }
  // Loaded only for paths; browser bundles resolve `#platform/read-file` to a stand-in without node:fs.
  const { readFile } = await import('#platform/read-file');
  const path = text.startsWith('file:') ? new URL(text) : text;
  try {
    return { bytes: new Uint8Array(await readFile(path)), name: text };
  } catch (error) {
    throw fileError(text, error);
  }
}

/** A typed one-line error for a path that cannot be read: missing, a folder, or another reason. */
function fileError(text: string, error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT')
    return new DataNotFoundError(
      `No container at ${text}: the file does not exist. Give the path of a .dpr file.`,
      { cause: error },
    );
  if (code === 'EISDIR')
    return new InvalidArgumentError(
      `${text} is a folder, not a container. Give the path of a .dpr file (a run folder holds model.dpr after dynaprune export).`,
      { cause: error },
    );
  if (error instanceof InvalidArgumentError) return error;
  return new DataNotFoundError(`Cannot read the container ${text} (${(error as Error).message}).`, {
    cause: error,
  });
}

/** Loads and decodes a container; every problem with the bytes is a typed CorruptFileError. */
export async function loadSparse(source: ContainerSource): Promise<ModelGraph> {
  const { bytes, name } = await readContainerBytes(source);
  return decodeModel(bytes, { name });
}
