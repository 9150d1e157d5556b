import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { BatchscoreError } from '../errors.js';
import { checkKey, checkPrefix, checkRange, TEMP_NAME, toBytes } from './checkKey.js';
import { mapLimit } from '../mapLimit.js';
import { errnoOf, fsError } from './fsError.js';
import { inputChanged } from './inputChanged.js';
import type { ObjectInfo, ObjectStore, ReadOptions } from './ObjectStore.js';

const LIST_CONCURRENCY = 64;

let tempCounter = 0;

/** An ObjectStore over a local directory. Writes go to a temp file in the target directory, then rename/link. */
export class LocalStore implements ObjectStore {
  readonly rootDir: string;
  readonly rootUri: string;

  constructor(rootDir: string) {
    if (!path.isAbsolute(rootDir)) {
      throw new BatchscoreError('INTERNAL', `LocalStore root must be an absolute path, got ${JSON.stringify(rootDir)}`);
    }
    this.rootDir = path.resolve(rootDir);
    const href = pathToFileURL(this.rootDir).href;
    this.rootUri = href.endsWith('/') ? href : `${href}/`;
  }

  /** Absolute path of a (validated) key. */
  pathOf(key: string): string {
    checkKey(key);
    return path.join(this.rootDir, ...key.split('/'));
  }

  uriOf(key: string): string {
    // Folder keys ("a/b/") are fine here: they only name things in messages and manifests.
    if (key === '') return this.rootUri;
    if (key.endsWith('/')) return pathToFileURL(this.pathOf(key.slice(0, -1))).href + '/';
    return pathToFileURL(this.pathOf(key)).href;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const startRel = slash < 0 ? '' : prefix.slice(0, slash);
    const out: ObjectInfo[] = [];
    const walk = async (rel: string, top: boolean): Promise<void> => {
      const dir = rel === '' ? this.rootDir : path.join(this.rootDir, ...rel.split('/'));
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        const errno = errnoOf(err);
        // A missing folder lists as empty; one deleted under our feet too.
        if (errno === 'ENOENT' || errno === 'ENOTDIR') return;
        throw fsError(err, 'list', top ? prefix : rel, dir, true);
      }
      // Bounded: a stat for each of 100,000 files at once took 300 MB for a moment, a third of a coordinator pod.
      await mapLimit(entries, LIST_CONCURRENCY, async (e) => {
        const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
        let isDir = e.isDirectory();
        let isFile = e.isFile();
        if (e.isSymbolicLink()) {
          // Follow links to files; do not descend into linked directories (no cycles).
          try {
            isFile = (await fs.stat(path.join(dir, e.name))).isFile();
          } catch {
            return;
          }
          isDir = false;
        }
        if (isDir) {
          const asDir = `${childRel}/`;
          if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) await walk(childRel, false);
        } else if (isFile && !TEMP_NAME.test(e.name) && childRel.startsWith(prefix)) {
          try {
            const st = await fs.stat(path.join(dir, e.name), { bigint: true });
            out.push({ key: childRel, size: Number(st.size), version: localVersion(st) });
          } catch (err) {
            if (errnoOf(err) === 'ENOENT') return; // deleted while listing
            throw fsError(err, 'list', childRel, path.join(dir, e.name), true);
          }
        }
      });
    };
    await walk(startRel, true);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.pathOf(key);
    try {
      const st = await fs.stat(file, { bigint: true });
      return st.isFile() ? { key, size: Number(st.size), version: localVersion(st) } : undefined;
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'ENOENT' || errno === 'ENOTDIR') return undefined;
      throw fsError(err, 'head', key, file, true);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.pathOf(key);
    try {
      const buf = await fs.readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      throw fsError(err, 'get', key, file, true);
    }
  }

  async getRange(key: string, start: number, end: number, opts: ReadOptions = {}): Promise<Uint8Array> {
    const file = this.pathOf(key);
    checkRange(key, start, end);
    let fh: fs.FileHandle | undefined;
    let buf: Uint8Array;
    try {
      fh = await fs.open(file, 'r');
      buf = new Uint8Array(end - start);
      let filled = 0;
      while (filled < buf.length) {
        const { bytesRead } = await fh.read(buf, filled, buf.length - filled, start + filled);
        if (bytesRead === 0) break; // past end of file: return what there is, as S3 does
        filled += bytesRead;
      }
      if (filled < buf.length) buf = buf.subarray(0, filled);
      // After the bytes, from the same handle: a file replaced before the open, or written to before or while it
      // was read, has another modification time.
      if (opts.version !== undefined) checkVersion(this.uriOf(key), opts.version, await fh.stat({ bigint: true }));
    } catch (err) {
      if (err instanceof BatchscoreError) throw err;
      throw fsError(err, 'getRange', key, file, true);
    } finally {
      await fh?.close();
    }
    return buf;
  }

  async getStream(key: string): Promise<ReadableStream<Uint8Array>> {
    const file = this.pathOf(key);
    let fh: fs.FileHandle;
    try {
      // Open first so that a missing file rejects here rather than erroring the stream later.
      fh = await fs.open(file, 'r');
    } catch (err) {
      throw fsError(err, 'getStream', key, file, true);
    }
    const nodeStream = fh.createReadStream({ autoClose: true });
    return Readable.toWeb(nodeStream) as unknown as ReadableStream<Uint8Array>;
  }

  /** Writes `bytes` to a fresh temp file beside `file` (flushed to disk) and returns its path. */
  private async writeTemp(file: string, bytes: Uint8Array): Promise<string> {
    const dir = path.dirname(file);
    await fs.mkdir(dir, { recursive: true });
    const temp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${tempCounter++}`);
    // Another process may prune the folder as empty between our mkdir and open: make it again, once.
    const fh = await fs.open(temp, 'wx').catch(async (err: unknown) => {
      if (errnoOf(err) !== 'ENOENT') throw err;
      await fs.mkdir(dir, { recursive: true });
      return fs.open(temp, 'wx');
    });
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await fs.rm(temp, { force: true }).catch(() => {});
      throw err;
    }
    await fh.close();
    return temp;
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const file = this.pathOf(key);
    let temp: string | undefined;
    try {
      temp = await this.writeTemp(file, toBytes(body));
      await fs.rename(temp, file);
      temp = undefined;
    } catch (err) {
      throw fsError(err, 'put', key, file, false);
    } finally {
      if (temp !== undefined) await fs.rm(temp, { force: true }).catch(() => {});
    }
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const file = this.pathOf(key);
    let temp: string | undefined;
    try {
      temp = await this.writeTemp(file, toBytes(body));
      // link(2) creates the name atomically, complete, or fails with EEXIST: no reader sees a half-written file.
      await fs.link(temp, file);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      throw fsError(err, 'putIfAbsent', key, file, false);
    } finally {
      if (temp !== undefined) await fs.rm(temp, { force: true }).catch(() => {});
    }
  }

  async move(fromKey: string, toKey: string): Promise<void> {
    const from = this.pathOf(fromKey);
    const to = this.pathOf(toKey);
    try {
      await fs.mkdir(path.dirname(to), { recursive: true });
      await fs.rename(from, to);
      await this.pruneEmptyFolders(from);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        // Either the source is gone or (less likely) its folder vanished; name the source.
        throw new BatchscoreError('STORE_NOT_FOUND', `move ${JSON.stringify(fromKey)}: no such file ${from}`, {
          cause: err,
        });
      }
      throw fsError(err, `move to ${JSON.stringify(toKey)} from`, fromKey, from, false);
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    return this.copyFrom(this, fromKey, toKey);
  }

  async copyFrom(source: ObjectStore, fromKey: string, toKey: string): Promise<void> {
    // Another kind of store (S3 into a local folder): its bytes, written here as any put.
    if (!(source instanceof LocalStore)) return this.put(toKey, await source.get(fromKey));
    const from = source.pathOf(fromKey);
    const to = this.pathOf(toKey);
    const dir = path.dirname(to);
    const temp = path.join(dir, `.${path.basename(to)}.tmp-${process.pid}-${tempCounter++}`);
    let made = false;
    try {
      await fs.mkdir(dir, { recursive: true });
      // Another process may prune the folder as empty between our mkdir and link: make it again, once.
      await linkOrCopy(from, temp).catch(async (err: unknown) => {
        if (errnoOf(err) !== 'ENOENT' || (await source.head(fromKey)) === undefined) throw err;
        await fs.mkdir(dir, { recursive: true });
        return linkOrCopy(from, temp);
      });
      made = true;
      // The target appears whole or not at all, and replaces what was there (a rerun's copy of the same bytes).
      await fs.rename(temp, to);
      made = false;
    } catch (err) {
      // Whatever failed (ENOENT, or EISDIR for a key that names a folder), an absent source is STORE_NOT_FOUND.
      if ((await source.head(fromKey).catch(() => 'unknown')) === undefined) {
        throw new BatchscoreError('STORE_NOT_FOUND', `copy ${JSON.stringify(fromKey)}: no such file ${from}`, {
          cause: err,
        });
      }
      throw fsError(err, `copy to ${JSON.stringify(toKey)} from`, fromKey, from, false);
    } finally {
      if (made) await fs.rm(temp, { force: true }).catch(() => {});
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await fs.unlink(file);
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'ENOENT' || errno === 'ENOTDIR') return;
      throw fsError(err, 'delete', key, file, false);
    }
    await this.pruneEmptyFolders(file);
  }

  async deleteMany(keys: string[], opts: { concurrency?: number } = {}): Promise<void> {
    // A local unlink is one call whatever the batch; checked up front, so a bad key deletes nothing.
    for (const k of keys) checkKey(k);
    await mapLimit(keys, opts.concurrency ?? 1, (k) => this.delete(k));
  }

  /**
   * Removes the folders above a deleted or moved file while they are empty, up to the root: an object store has
   * no empty folders, and left behind they make every later listing walk them (measured: staging folders of
   * earlier attempts slowed a rerun's shards by a tenth).
   */
  private async pruneEmptyFolders(file: string): Promise<void> {
    const root = this.rootDir;
    for (let dir = path.dirname(file); dir.startsWith(root + path.sep); dir = path.dirname(dir)) {
      try {
        await fs.rmdir(dir);
      } catch {
        return; // not empty (or gone, or in use): stop here
      }
    }
  }
}

/**
 * Errors of link(2) where the file system cannot link (FAT, some network and FUSE mounts) or the file has too many
 * links.
 */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/**
 * A new name `to` for the bytes of `from`: a hard link (no bytes copied, the disk holds the part once; safe because
 * a LocalStore never rewrites a file in place, it renames a new one over it), else a byte copy flushed to disk.
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fs.link(from, to);
    return;
  } catch (err) {
    if (!NO_LINK.has(errnoOf(err) ?? '')) throw err;
  }
  try {
    await fs.copyFile(from, to, fs.constants.COPYFILE_EXCL);
    const fh = await fs.open(to, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await fs.rm(to, { force: true }).catch(() => {});
    throw err;
  }
}

/** A local file's version (ObjectInfo.version): its modification time in nanoseconds since the epoch. */
export function localVersion(st: { mtimeNs: bigint }): string {
  return String(st.mtimeNs);
}

/** Fails with INPUT_CHANGED when a file read through a handle is not the version the plan recorded. */
export function checkVersion(uri: string, version: string, st: { mtimeNs: bigint; size: bigint }): void {
  const now = localVersion(st);
  if (now !== version)
    throw inputChanged(uri, `modified at ${showMtime(now)} (${st.size} bytes), planned at ${showMtime(version)}`);
}

function showMtime(version: string | undefined): string {
  if (version === undefined || !/^-?\d+$/.test(version)) return String(version);
  const ns = BigInt(version);
  return `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, -1)}${String(ns % 1_000_000n).padStart(6, '0')}Z`;
}
