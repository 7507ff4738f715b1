// harmofl for Node: the portable core plus what needs Node (files, worker threads, native
// TensorFlow): federation loaders, model files, the worker-pool grid, simulate() and the
// experiment helpers the CLI is built on.

export * from './index.js';
export { initBackend, type NodeEngineOptions } from './engine/node_backend.js';
export type { KernelChoice } from './engine/native_addon.js';
export { WorkerPool } from './engine/worker_pool.js';
export type { Task as WorkerTask, TaskResult, TaskTable } from './engine/worker_protocol.js';
export { writeFileAtomic } from './engine/atomic_write.js';

export { detectFormat, loadFederation, type FederationFormat } from './data/federation.js';
export { writeSyntheticFederations, SYNTH_DEFAULTS, type SynthOptions } from './data/synthetic.js';
export { summarizeFederation, type SiteSummary } from './data/summary.js';
export { loadModel, saveModel } from './harmofl/model_file.js';

export { ClientStore } from './fl/client_store.js';
export { federationOf, siteOf, type DataRef } from './fl/site_data.js';
export { SimulationGrid } from './fl/simulation_grid.js';
export type { SimulationTasks } from './fl/simulation_tasks.js';
export { SIMULATION_TASKS, simulate } from './fl/simulate.js';
export { RunDirectory } from './fl/run_directory.js';
export { readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointHeader } from './fl/checkpoint.js';
export type { TrainConfig, TrainSummary } from './fl/train_config.js';

export { prepareRun, type PreparedRun, type RunOptions } from './experiment/prepare.js';
export { train, type EventListener } from './experiment/train.js';
export { compareStrategies } from './experiment/compare.js';
export { assertTaskFits, evaluateSites, siteEntriesOf, type SiteMetric } from './experiment/evaluate.js';
