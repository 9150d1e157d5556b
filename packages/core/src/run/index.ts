// A run's lifecycle, in one place, for both executors (Argo and run --local): its key and state (published? leased?
// failed?), the lease, a shard writer (claim an attempt → stage a part → commit the part → commit the shard), publish
// (verify → copy → manifest → clean), the failure record and strides.
export * from './runKey.js';
export * from './records.js';
export * from './manifest.js';
export * from './state.js';
export * from './publishedRun.js';
export * from './lease.js';
export * from './fail.js';
export * from './strides.js';
export * from './chain.js';
export * from './ShardWriter.js';
export * from './resetShards.js';
export * from './readCommit.js';
export * from './readCommits.js';
export * from './checkCommits.js';
export * from './listStaged.js';
export * from './publishParts.js';
export * from './publish.js';
export * from './removeStaleParts.js';
export * from './removeOrphanAttempts.js';
