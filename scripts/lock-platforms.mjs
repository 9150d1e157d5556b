#!/usr/bin/env node
// The package mirror this project is developed behind serves rollup's (and nodejs-polars') native binaries for a
// few platforms only, so `npm install` drops the other platforms' optional packages from package-lock.json,
// and `npm ci` then rejects the lockfile as out of sync. This adds the missing entries back with their
// os/cpu/libc fields: npm skips them on other platforms and fetches them from the registry on their own.
// Run after any `npm install` that rewrites the lockfile: `node scripts/lock-platforms.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const OS = {
  android: 'android',
  darwin: 'darwin',
  freebsd: 'freebsd',
  linux: 'linux',
  openbsd: 'openbsd',
  openharmony: 'openharmony',
  win32: 'win32',
};
const CPU = {
  arm: 'arm',
  'arm-eabi': 'arm',
  arm64: 'arm64',
  x64: 'x64',
  ia32: 'ia32',
  loong64: 'loong64',
  ppc64: 'ppc64',
  riscv64: 'riscv64',
  s390x: 's390x',
};

/** Packages whose optional dependencies are one native build per platform, and how those are named. */
const PLATFORM_PACKAGES = [
  {
    parent: 'rollup',
    name: /^@rollup\/rollup-([a-z0-9]+)-([a-z0-9]+(?:-eabi)?)(?:-(gnu|musl|msvc|gnueabihf|musleabihf))?$/,
  },
  { parent: 'nodejs-polars', name: /^nodejs-polars-([a-z0-9]+)-([a-z0-9]+)(?:-(gnu|musl|msvc))?$/ },
];

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
let added = 0;
for (const [key, pkg] of Object.entries(lock.packages)) {
  const family = PLATFORM_PACKAGES.find((f) => key.endsWith(`node_modules/${f.parent}`));
  if (!pkg.optionalDependencies || !family) continue;
  for (const [name, version] of Object.entries(pkg.optionalDependencies)) {
    const entry = `node_modules/${name}`;
    if (lock.packages[entry]) continue;
    const m = family.name.exec(name);
    if (!m || !OS[m[1]] || !CPU[m[2]]) throw new Error(`cannot tell the platform of ${name}`);
    const libc = m[3]?.startsWith('gnu') ? ['glibc'] : m[3]?.startsWith('musl') ? ['musl'] : undefined;
    lock.packages[entry] = {
      version,
      cpu: [m[3] === 'gnueabihf' || m[3] === 'musleabihf' ? 'arm' : CPU[m[2]]],
      dev: true,
      license: family.parent === 'rollup' ? 'MIT' : 'SEE LICENSE IN LICENSE',
      ...(libc ? { libc } : {}),
      optional: true,
      os: [OS[m[1]]],
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`lock-platforms: added ${added} optional platform entries`);
