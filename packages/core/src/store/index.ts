export type { ObjectInfo, ObjectStore } from './ObjectStore.js';
export { checkKey, checkPrefix } from './checkKey.js';
export { LocalStore } from './LocalStore.js';
export { makeS3Client, MULTIPART_THRESHOLD, PRESIGN_EXPIRES_S, S3Store, s3Error } from './S3Store.js';
export { openStore, parseLocation, type Location, type OpenStoreOptions } from './openStore.js';
