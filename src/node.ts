// dynaprune/node: what needs a file system: dataset loaders, run folders, checkpoints, the experiment runners.
// Datasets as ready tensors (`loadCifar10()`, `loadDataset(name)`), and as raw uint8 arrays
// (`readCifar10()`, `readDataset(name)`), which is what the library's own loaders return.
export {
  disposeDataset,
  loadCifar10Tensors as loadCifar10,
  loadDatasetTensors as loadDataset,
  type DatasetTensors,
  type TensorLoadOptions,
  type TensorSplit,
} from './data/tensors.js';
export {
  datasetNames,
  datasets,
  getDataset,
  isDatasetName,
  loadDataset as readDataset,
  type DatasetInfo,
  type DatasetName,
  type LoadDatasetOptions,
} from './data/registry.js';
export {
  CIFAR10_CHECKSUMS,
  CIFAR10_OFFICIAL_CHECKSUM,
  CIFAR10_URL,
  loadCifar10 as readCifar10,
  type Cifar10Options,
} from './data/cifar10.js';
export { CIFAR10_LABELS } from './data/cifar10-format.js';
export { FASHION_MNIST_LABELS, loadFashionMnist, loadMnist } from './data/mnist.js';
export { parseIdx, type IdxArray } from './data/idx.js';
export type { Checksum } from './data/checksum.js';
export { folderHandler, savedModelBytes } from './train/model-files.js';
export { loadDynamicModel } from './train/load-model.js';
export { fitProgress, FitProgress, type FitProgressOptions } from './train/fit-progress.js';
export { prepareRunFolder, type PreparedRunFolder } from './train/run-folder.js';
export {
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointState,
} from './train/checkpoint.js';
export {
  runTraining,
  trainOrReuse,
  type TrainingRunConfig,
  type TrainingRunEvents,
  type TrainingRunResult,
} from './experiments/experiment.js';
export {
  runPaperComparison,
  measureRun,
  paperPlan,
  paperRowIds,
  PAPER_BUDGET,
  PAPER_NUMBERS,
  type PaperJob,
  type PaperOptions,
  type PaperRowId,
  type PaperSummary,
} from './experiments/paper.js';
export { summaryFromRuns } from './report/from-runs.js';
export { describeMachine, type MachineInfo } from './experiments/machine.js';
