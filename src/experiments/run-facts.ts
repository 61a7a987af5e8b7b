// What a run folder says about its model (dataset, labels, method, test accuracy): the container's metadata card.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunFacts } from '../convert/model-card.js';
import { getDataset, isDatasetName } from '../data/registry.js';

/**
 * What the run folder says about its model (config.json's dataset and method, result.json's test
 * accuracy), for the container's metadata; files that are missing or unreadable leave facts out.
 */
export async function readRunFacts(runDir: string): Promise<RunFacts> {
  const read = async (name: string): Promise<Record<string, unknown>> => {
    try {
      const parsed: unknown = JSON.parse(await readFile(join(runDir, name), 'utf8'));
      return parsed !== null && typeof parsed === 'object'
        ? (parsed as Record<string, unknown>)
        : {};
    } catch {
      return {};
    }
  };
  const [config, result] = await Promise.all([read('config.json'), read('result.json')]);
  const dataset = typeof config['dataset'] === 'string' ? config['dataset'] : undefined;
  if (dataset === undefined) return {};
  // An unknown dataset name gives no labels; the input block still follows from the name.
  const labels = isDatasetName(dataset) ? { labels: getDataset(dataset).labelNames } : {};
  return {
    dataset,
    ...labels,
    method: typeof config['method'] === 'string' ? config['method'] : 'dense',
    ...(typeof result['testAcc'] === 'number' ? { testAccuracy: result['testAcc'] } : {}),
  };
}
