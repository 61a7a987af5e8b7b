// Run folders and checkpoints for the training loop, behind `#platform/run-files` (run-files-browser.ts in browsers).
export { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
export { RunFolder } from '../train/run-folder.js';
