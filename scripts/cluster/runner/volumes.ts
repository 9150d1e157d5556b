// A pod's volumes, made as a kubelet makes them, as folders of the pod (<pod>/volumes/<name>) that its containers
// bind-mount: emptyDir, configMap, secret, downwardAPI, projected (with the ServiceAccount token from the
// TokenRequest API, renewed at 80% of its life), hostPath and persistentVolumeClaim (a folder per claim).
// The pod's securityContext.fsGroup owns them (group, setgid folders), as the kubelet's SetVolumeOwnership does,
// so that containers running as a non-root user can use them.
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fieldRefValue, resourceFieldRefValue } from './k8sSemantics.js';
import type { Kube } from './kube.js';
import { ConfigError, getObject, objectData, type ObjectKind } from './objects.js';
import type { NodeConfig, Pod, Volume } from './types.js';

type KeySource = {
  name?: string;
  secretName?: string;
  optional?: boolean;
  items?: { key: string; path: string; mode?: number }[];
};
type DownwardItem = {
  path: string;
  mode?: number;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
};

/**
 * Makes a subPath's missing folders inside its volume as the kubelet does (SafeMakeDir with the volume's own mode,
 * kubelet_pods.go): a subPath of an emptyDir is world-writable like the emptyDir, whatever this process's umask.
 * Argo 4.1 mounts /tmp of a resource template's read-only main container from a subPath ("0") of an emptyDir.
 */
export function makeSubPath(volume: string, src: string): void {
  const mode = statSync(volume).mode & 0o7777;
  let at = volume;
  for (const part of relative(volume, src).split('/').filter(Boolean)) {
    at = join(at, part);
    if (existsSync(at)) continue;
    mkdirSync(at);
    chmodSync(at, mode);
  }
}

/**
 * The file a container's terminationMessagePath is bound to: empty and writable by any user, as the kubelet makes it
 * (kuberuntime_container.go chmods it 0666), so a container running as non-root can write its message.
 */
export function makeTerminationLog(path: string): void {
  writeFileSync(path, '');
  chmodSync(path, 0o666);
}

/** Pure: a folder's and a file's mode under fsGroup (SetVolumeOwnership: group rw, or r for read-only volumes). */
export function fsGroupMode(mode: number, isDir: boolean, readOnly: boolean): number {
  if (isDir) return mode | (readOnly ? 0o2550 : 0o2770);
  return mode | (readOnly ? 0o440 : 0o660);
}

export class PodVolumes {
  /** Volume name → the folder (or file, for a hostPath file) that stands for it. */
  readonly paths = new Map<string, string>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(
    private readonly kube: Kube,
    private readonly pod: Pod,
    private readonly dir: string,
    private readonly o: { stateDir: string; node: NodeConfig | undefined; log: (msg: string) => void },
  ) {}

  private get ns() {
    return this.pod.metadata.namespace;
  }

  private get fsGroup(): number | undefined {
    return this.pod.spec.securityContext?.fsGroup;
  }

  /** Makes every volume of the pod; a ConfigError (a missing Secret or ConfigMap) is for the caller to retry. */
  async prepare(): Promise<void> {
    this.paths.clear();
    for (const v of this.pod.spec.volumes ?? []) this.paths.set(v.name!, await this.prepareVolume(v));
  }

  /** Stops renewing tokens. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  /** A file of a volume, written whole (readers never see half a token), with its mode and fsGroup. */
  private writeFile(dir: string, rel: string, content: string | Buffer, mode: number, readOnly: boolean) {
    const target = join(dir, posix.normalize(rel));
    if (!target.startsWith(dir + '/')) throw new Error(`volume file path ${rel}: must stay inside the volume`);
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}`;
    writeFileSync(tmp, content);
    const g = this.fsGroup;
    if (g !== undefined) lchownSync(tmp, 0, g);
    chmodSync(tmp, g === undefined ? mode & 0o777 : fsGroupMode(mode & 0o777, false, readOnly));
    renameSync(tmp, target);
  }

  /** fsGroup on a volume's folder and what is in it. */
  private own(path: string, readOnly: boolean): void {
    const g = this.fsGroup;
    if (g === undefined) return;
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    lchownSync(path, st.uid, g);
    chmodSync(path, fsGroupMode(st.mode & 0o7777, st.isDirectory(), readOnly));
    if (st.isDirectory()) for (const e of readdirSync(path)) this.own(join(path, e), readOnly);
  }

  private async projectKeys(dir: string, kind: ObjectKind, source: KeySource, mode: number, volume: string) {
    const name = (kind === 'secret' ? (source.secretName ?? source.name) : source.name) ?? '';
    const data = objectData(kind, await getObject(this.kube, this.ns, kind, name, source.optional));
    if (source.items?.length) {
      for (const item of source.items) {
        if (!(item.key in data)) {
          if (source.optional) continue;
          throw new ConfigError(`volume ${volume}: ${kind} "${name}" has no key "${item.key}"`);
        }
        this.writeFile(dir, item.path, data[item.key]!, item.mode ?? mode, true);
      }
    } else for (const [k, v] of Object.entries(data)) this.writeFile(dir, k, v, mode, true);
  }

  private projectDownward(dir: string, items: DownwardItem[] | undefined, mode: number) {
    for (const item of items ?? []) {
      let value: string;
      if (item.fieldRef) value = fieldRefValue(this.pod, item.fieldRef.fieldPath);
      else if (item.resourceFieldRef) {
        const cs = this.pod.spec.containers;
        const c = cs.find((x) => x.name === item.resourceFieldRef!.containerName) ?? cs[0]!;
        value = resourceFieldRefValue(this.pod, c, item.resourceFieldRef, this.o.node);
      } else continue;
      this.writeFile(dir, item.path, value, item.mode ?? mode, true);
    }
  }

  private async requestToken(source: { audience?: string; expirationSeconds?: number }) {
    const sa = this.pod.spec.serviceAccountName || 'default';
    const spec: Record<string, unknown> = {
      expirationSeconds: source.expirationSeconds ?? 3600,
      boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: this.pod.metadata.name, uid: this.pod.metadata.uid },
    };
    if (source.audience) spec.audiences = [source.audience];
    const tr = await this.kube.request<{ status: { token: string; expirationTimestamp: string } }>(
      'POST',
      `/api/v1/namespaces/${encodeURIComponent(this.ns)}/serviceaccounts/${encodeURIComponent(sa)}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec },
    );
    return tr.status;
  }

  private async projectToken(
    dir: string,
    source: { path: string; audience?: string; expirationSeconds?: number },
    mode: number,
  ) {
    const write = async () => {
      const st = await this.requestToken(source);
      this.writeFile(dir, source.path, st.token, mode, true);
      return Date.parse(st.expirationTimestamp) - Date.now();
    };
    const ttl = await write();
    // As the kubelet does: a fresh token at 80% of its lifetime, so long pods keep a valid one.
    const schedule = (ms: number) => {
      const t = setTimeout(
        async () => {
          if (this.stopped) return;
          try {
            schedule((await write()) * 0.8);
          } catch (err) {
            this.o.log(`token refresh failed: ${(err as Error).message}`);
            schedule(30_000);
          }
        },
        Math.max(10_000, ms),
      );
      this.timers.push(t);
    };
    schedule(ttl * 0.8);
  }

  private async prepareVolume(v: Volume): Promise<string> {
    const dir = join(this.dir, 'volumes', v.name!);
    mkdirSync(dir, { recursive: true });
    if (v.emptyDir) {
      // World-writable, as the kubelet makes an emptyDir; medium: Memory is a folder on disk too, and sizeLimit is
      // not enforced.
      chmodSync(dir, 0o777);
      this.own(dir, false);
      return dir;
    }
    if (v.configMap) {
      await this.projectKeys(dir, 'configmap', v.configMap, v.configMap.defaultMode ?? 0o644, v.name!);
      this.own(dir, true);
      return dir;
    }
    if (v.secret) {
      await this.projectKeys(dir, 'secret', v.secret, v.secret.defaultMode ?? 0o644, v.name!);
      this.own(dir, true);
      return dir;
    }
    if (v.downwardAPI) {
      this.projectDownward(dir, v.downwardAPI.items as DownwardItem[], v.downwardAPI.defaultMode ?? 0o644);
      this.own(dir, true);
      return dir;
    }
    if (v.projected) {
      const mode = v.projected.defaultMode ?? 0o644;
      for (const src of v.projected.sources ?? []) {
        if (src.serviceAccountToken) await this.projectToken(dir, src.serviceAccountToken, mode);
        else if (src.configMap) await this.projectKeys(dir, 'configmap', src.configMap, mode, v.name!);
        else if (src.secret) await this.projectKeys(dir, 'secret', src.secret, mode, v.name!);
        else if (src.downwardAPI) this.projectDownward(dir, src.downwardAPI.items as DownwardItem[], mode);
        else {
          throw new Error(
            `volume ${v.name}: projected source ${Object.keys(src).join(',')} is not supported by the pod runner`,
          );
        }
      }
      this.own(dir, true);
      return dir;
    }
    if (v.hostPath) {
      const p = v.hostPath.path;
      if (v.hostPath.type === 'DirectoryOrCreate') mkdirSync(p, { recursive: true });
      if (v.hostPath.type === 'FileOrCreate' && !existsSync(p)) {
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, '');
      }
      return p;
    }
    if (v.persistentVolumeClaim) {
      // A claim is a folder shared by every pod that mounts it (no storage provisioning).
      const p = join(this.o.stateDir, 'pvcs', this.ns, v.persistentVolumeClaim.claimName);
      mkdirSync(p, { recursive: true });
      chmodSync(p, 0o777);
      return p;
    }
    const kind = Object.keys(v)
      .filter((k) => k !== 'name')
      .join(',');
    throw new Error(
      `volume ${v.name}: type ${kind} is not supported by the pod runner (emptyDir, configMap, ` +
        `secret, downwardAPI, projected, hostPath and persistentVolumeClaim are)`,
    );
  }
}
