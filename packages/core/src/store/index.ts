export { DELETE_BATCH, type ObjectInfo, type ObjectStore, type ReadOptions } from './ObjectStore.js';
export { pinVersions } from './pinVersions.js';
export { inputChanged } from './inputChanged.js';
export { checkKey, checkPrefix } from './checkKey.js';
export { LocalStore } from './LocalStore.js';
// S3Store (and the AWS SDK) load on first use through openStore; import '@batchscore/core/s3' for the class itself.
export { openStore, parseLocation, type Location, type OpenStoreOptions } from './openStore.js';
