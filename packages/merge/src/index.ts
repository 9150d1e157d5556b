export * from './mergeRun.js';
export * from './checkCommits.js';
export * from './toManifest.js';
export * from './recordFailure.js';
