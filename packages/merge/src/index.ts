export * from './mergeRun.js';
export * from './toManifest.js';
export * from './toQuality.js';
export * from './findBaseline.js';
