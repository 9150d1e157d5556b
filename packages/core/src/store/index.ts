export { DELETE_BATCH, type ObjectInfo, type ObjectStore } from './ObjectStore.js';
export { checkKey, checkPrefix } from './checkKey.js';
export { LocalStore } from './LocalStore.js';
// S3Store (and the AWS SDK) load on first use through openStore; import '@batchscore/core/s3' for the class itself.
export { openStore, parseLocation, type Location, type OpenStoreOptions } from './openStore.js';
