#!/usr/bin/env -S node --initial-old-space-size=128
// --initial-old-space-size: see OLD_SPACE_FLAG in src/runLocal.ts.
import { statSync } from 'node:fs';

// The AWS SDK warns on Node < 22 about its own future releases; batchscore pins the SDK, so the warning is
// noise on every command. A user who sets the variable keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `npm run build` bundles dist/ into dist/bundle/ (scripts/bundle.mjs), which starts ~0.2 s sooner. After a bare
// `tsc -b` the bundle is older than the build it came from; the modules tsc wrote are then run themselves.
const mtime = (rel) => {
  try {
    return statSync(new URL(rel, import.meta.url)).mtimeMs;
  } catch {
    return undefined;
  }
};
const bundled = mtime('../dist/bundle/main.js');
const fresh =
  bundled !== undefined &&
  ['core', 'coordinator', 'worker', 'merge', 'cli'].every(
    (p) => (mtime(`../../${p}/tsconfig.tsbuildinfo`) ?? 0) <= bundled,
  );
await import(fresh ? '../dist/bundle/main.js' : '../dist/main.js');
