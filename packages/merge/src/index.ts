export * from './mergeRun.js';
export * from './checkCommits.js';
export * from './toManifest.js';
export * from './recordFailure.js';
export * from './toQuality.js';
export * from './findBaseline.js';
