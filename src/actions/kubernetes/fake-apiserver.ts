import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local server in the shape of the Kubernetes API for Deployments (read, the scale
 * subresource, merge-patch), as the official client speaks to it. A change bumps the
 * generation; the status catches up after `rolloutMs`, as a real rollout does.
 * Test fixture: no Kubernetes API can run on this machine.
 */
export interface FakeDeployment {
  namespace: string;
  name: string;
  replicas: number;
  annotations?: Record<string, string>;
}

interface Stored {
  generation: number;
  observed: number;
  replicas: number;
  ready: number;
  annotations: Record<string, string>;
  restarts: number;
}

export class FakeDeploymentApi {
  private server?: Server;
  private readonly deployments = new Map<string, Stored>();
  readonly requests: Array<{ method: string; path: string; contentType?: string; body: string }> = [];

  constructor(
    seed: FakeDeployment[],
    private readonly rolloutMs = 150,
    private readonly token = 'fake-token',
  ) {
    for (const d of seed) {
      this.deployments.set(`${d.namespace}/${d.name}`, {
        generation: 1,
        observed: 1,
        replicas: d.replicas,
        ready: d.replicas,
        annotations: d.annotations ?? {},
        restarts: 0,
      });
    }
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  get bearer(): string {
    return this.token;
  }

  state(namespace: string, name: string): Stored | undefined {
    return this.deployments.get(`${namespace}/${name}`);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private object(namespace: string, name: string, d: Stored) {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, generation: d.generation, uid: `uid-${namespace}-${name}` },
      spec: {
        replicas: d.replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name }, annotations: d.annotations },
          spec: { containers: [{ name, image: `${name}:1` }] },
        },
      },
      status: {
        observedGeneration: d.observed,
        replicas: d.ready,
        updatedReplicas: d.observed === d.generation ? d.ready : 0,
        readyReplicas: d.ready,
        availableReplicas: d.ready,
      },
    };
  }

  private changed(d: Stored): void {
    d.generation += 1;
    const target = d.generation;
    setTimeout(() => {
      if (d.generation !== target) return;
      d.observed = target;
      d.ready = d.replicas;
    }, this.rolloutMs).unref();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push({ method: req.method ?? 'GET', path, contentType: req.headers['content-type'], body });
    const send = (code: number, value: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const status = (code: number, reason: string, message: string) =>
      send(code, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        reason,
        message,
        code,
      });
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return status(401, 'Unauthorized', 'Unauthorized');
    const m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)(\/scale)?$/.exec(path);
    if (!m) return status(404, 'NotFound', `the server could not find the requested resource (${path})`);
    const [, namespace, name, scale] = m;
    const d = this.deployments.get(`${namespace}/${name}`);
    if (!d) return status(404, 'NotFound', `deployments.apps "${name}" not found`);
    if (req.method === 'GET' && !scale) return send(200, this.object(namespace, name, d));
    if (req.method === 'PUT' && scale) {
      const replicas = (JSON.parse(body) as { spec?: { replicas?: number } }).spec?.replicas;
      if (typeof replicas !== 'number') return status(422, 'Invalid', 'spec.replicas: Required value');
      if (replicas !== d.replicas) {
        d.replicas = replicas;
        this.changed(d);
      }
      return send(200, {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name, namespace },
        spec: { replicas },
        status: { replicas: d.ready },
      });
    }
    if (req.method === 'PATCH' && !scale) {
      if (req.headers['content-type'] !== 'application/merge-patch+json') {
        return status(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
      }
      const patch = JSON.parse(body) as {
        spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } };
      };
      const annotations = patch.spec?.template?.metadata?.annotations;
      if (annotations) {
        d.annotations = { ...d.annotations, ...annotations };
        d.restarts += 1;
        d.ready = d.replicas;
        this.changed(d);
      }
      return send(200, this.object(namespace, name, d));
    }
    return status(405, 'MethodNotAllowed', `${req.method} is not supported here`);
  }
}
