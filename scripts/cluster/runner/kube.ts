// JSON requests to the API server with the kubeconfig's credentials (client-node applies CA and token).
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export class KubeError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(method: string, path: string, status: number, body: unknown) {
    const b = body as { message?: string; reason?: string } | string | undefined;
    const message = typeof b === 'string' ? b.slice(0, 300) : (b?.message ?? '');
    super(`${method} ${path}: HTTP ${status}${message ? ': ' + message : ''}`);
    this.status = status;
    this.reason = typeof b === 'object' ? b?.reason : undefined;
  }
}

export class Kube {
  readonly kc: KubeConfig;
  private readonly server: string;
  private readonly agent: https.Agent;

  constructor(kubeconfigPath: string) {
    this.kc = new KubeConfig();
    this.kc.loadFromFile(kubeconfigPath);
    this.server = this.kc.getCurrentCluster()!.server;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json') {
    const headers: Record<string, string | number> = { Accept: 'application/json' };
    const opts: https.RequestOptions = { method, headers, agent: this.agent };
    await this.kc.applyToHTTPSOptions(opts);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (data) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = data.length;
    }
    return new Promise<T>((resolve, reject) => {
      const req = https.request(new URL(this.server + path), opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            /* not JSON: keep the text for the error */
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(parsed as T);
          else reject(new KubeError(method, path, code, parsed));
        });
        res.on('error', reject);
      });
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  get<T = unknown>(path: string) {
    return this.request<T>('GET', path);
  }

  mergePatch(path: string, body: unknown) {
    return this.request('PATCH', path, body, 'application/merge-patch+json');
  }
}
