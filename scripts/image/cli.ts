// `npm run image:build -- [--target cpu|gpu] [--tag REF] [--no-cache] [--rebuild-bases] [--keep-old-layers]
// [--quiet]`: builds Dockerfile.worker's target with buildah into local storage (scripts/image/buildImage.ts), then
// prints the image's uncompressed size and what takes the room. Progress on stderr; stdout's one line is a JSON
// summary. Exit 0 when built, 69 (EX_UNAVAILABLE) when a base image the target needs cannot be had here (the stages
// that could be built were), 75 (EX_TEMPFAIL) when the disk under buildah's storage is short even without the layers
// of earlier builds (diskGuard.ts: nothing was built), 64 for bad arguments, 1 for any other failure.
// One build at a time on a machine (flock on LOCK): builds share buildah's storage, and a build ends by removing
// the layers no tagged image uses, which another build under way may be making.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_IMAGES } from '../../packages/core/src/images.js';
import { BaseUnavailableError, buildImage } from './buildImage.js';
import { DiskSpaceError, minFreeBytes } from './diskGuard.js';
import { measureImage } from './imageSize.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const LOCK = '/tmp/batchscore-image.lock';
const HELD = 'BATCHSCORE_IMAGE_LOCK_HELD';
const say = (m: string) => process.stderr.write(`image: ${m}\n`);
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

/** This command again, under the lock; its exit code. */
function underLock(): number {
  if (spawnSync('flock', ['-n', LOCK, 'true']).status !== 0) say(`waiting for another image build (${LOCK}) ...`);
  const r = spawnSync('flock', [LOCK, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [HELD]: '1' },
  });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

async function main(): Promise<number> {
  if (process.env[HELD] !== '1') return underLock();
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        target: { type: 'string', default: 'cpu' },
        tag: { type: 'string' },
        'no-cache': { type: 'boolean' },
        'rebuild-bases': { type: 'boolean' },
        'keep-old-layers': { type: 'boolean' },
        quiet: { type: 'boolean' },
      },
    }));
  } catch (err) {
    say(`${(err as Error).message}`);
    say(
      'usage: npm run image:build -- [--target cpu|gpu] [--tag REF] [--no-cache] [--rebuild-bases] ' +
        '[--keep-old-layers] [--quiet]',
    );
    return 64;
  }
  const target = values.target!;
  const tag = values.tag ?? (DEFAULT_IMAGES as Record<string, string>)[target];
  if (!tag) {
    say(
      `--target ${target}: no default tag (DEFAULT_IMAGES has ${Object.keys(DEFAULT_IMAGES).join(', ')}); give --tag`,
    );
    return 64;
  }
  try {
    const r = await buildImage({
      context: REPO,
      target,
      tag,
      noCache: values['no-cache'],
      rebuildBases: values['rebuild-bases'],
      keepOldLayers: values['keep-old-layers'],
      minFreeBytes: minFreeBytes(process.env),
      verbose: !values.quiet,
      say,
    });
    const size = await measureImage(tag);
    say(`${tag} (${r.id.slice(0, 12)}): ${mb(size.bytes)} uncompressed; what takes the room:`);
    for (const p of size.parts) say(`  ${mb(p.bytes).padStart(9)}  ${p.path}`);
    const standIns = Object.entries(r.seconds.standIns).map(([ref, s]) => `${ref} ${s.toFixed(1)} s`);
    say(
      `built in ${r.seconds.total.toFixed(1)} s` +
        (standIns.length ? ` (stand-ins: ${standIns.join(', ')}; buildah bud ${r.seconds.build.toFixed(1)} s)` : ''),
    );
    process.stdout.write(JSON.stringify({ tag, id: r.id, bytes: size.bytes, seconds: r.seconds }) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof BaseUnavailableError) {
      say(err.message);
      if (err.built.length) say(`built instead: stages ${err.built.join(', ')} (their layers are cached; no tag)`);
      for (const f of err.failed) say(`stage ${f.stage} could not be built: ${f.reason}`);
      return 69;
    }
    if (err instanceof DiskSpaceError) {
      say(err.message);
      return 75;
    }
    say(`failed: ${(err as Error).message}`);
    return 1;
  }
}

process.exitCode = await main();
