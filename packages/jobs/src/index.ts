// @beem-ts/jobs: captioning a collection at scale: a BullMQ queue on Redis with workers a service
// embeds, and the resumable JSONL results file.
export { JOBS_ERROR_CODES, JobsError, type JobsErrorCode } from "./errors.js";
export {
  MAX_RECONNECT_DELAY_MS,
  checkQueueName,
  connect as connectRedis,
  imageKey,
  insideRoot,
  keys as queueKeys,
  type ImageJob,
  type RedisOptions,
} from "./queue.js";
export {
  ATTEMPTS,
  addImages,
  describeAdd,
  readImageList,
  type AddCounts,
  type AddImagesOptions,
} from "./add.js";
export { createCaptionWorker, type CaptionWorker, type CaptionWorkerOptions } from "./worker.js";
export { readStatus, type QueueOptions, type QueueStatus } from "./status.js";
export { readResults, writeResults, type ResultLine, type ResultsRead } from "./results.js";
export {
  errorRecord,
  openResults,
  realImagePath,
  resultRecord,
  uniqueByRealPath,
  type OpenResultsOptions,
  type ResultsFile,
} from "./results-file.js";
export { lockOutput, type OutputLock } from "./output-lock.js";
export { watchRedis, type RedisWatch, type RedisWatchOptions } from "./redis-watch.js";
export {
  captionCollection,
  captionGroups,
  type CaptionCollectionOptions,
  type CaptionGroupsOptions,
  type CollectionRun,
  type ImageOutcome,
} from "./collection.js";
export { countCaptioned, describeResultsRun, type ResultsRunContext } from "./run-summary.js";
export { stopOnSignals, type SignalStop } from "./signals.js";
export { IMAGE_EXTENSIONS, expandImagePaths, walkImages, type WalkOptions } from "./image-files.js";
export { cannotWrite, openOutput, writeFileAtomic, type OutputFile } from "./output-files.js";
