/*
 * Stand-in for the Kubernetes API server's Deployments (apps/v1, with the scale subresource and merge-patch),
 * Namespaces, ConfigMaps and Secrets, as @kubernetes/client-node speaks to it; for the kubernetes and helm
 * steps' tests only.
 * Refuses, as the API server does (source: the comments below; kubernetes/drill.test.ts 'the fake API server
 * refuses objects in a namespace that does not exist or is being terminated'):
 * - a wrong bearer token (401 Unauthorized);
 * - an object in a namespace that does not exist (404) or is being terminated (403 Forbidden), a name taken (409
 *   AlreadyExists), a namespace in the body unlike the request's (400 BadRequest), an invalid namespace name or
 *   none (422 Invalid), a scale without spec.replicas (422 Invalid);
 * - a PATCH that is not application/merge-patch+json (415 UnsupportedMediaType), an unknown path (404), a verb not
 *   served (405).
 * Does not model: RBAC, admission (quotas, limits), resourceVersion conflicts (409 on update), watches, other
 * kinds, server-side apply, a rollout that fails, latency (but `answerDelayMs`, default 0, answers a write that
 * long after applying it: shared/answer-delay.ts, for the kill-anywhere benchmark).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerAfter } from '../shared/answer-delay.js';

/**
 * A local server in the shape of the Kubernetes API for Deployments (read, create, replace, the
 * scale subresource, merge-patch) and Namespaces (create, read, delete), as the official client
 * speaks to it. A change bumps the generation; the status catches up after `rolloutMs`, as a real
 * rollout does. It refuses what the API server refuses: an object in a namespace that does not
 * exist (404) or is being terminated (403), a name taken (409). A deleted namespace stays
 * Terminating for `rolloutMs`, then is gone with everything in it.
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
  /** The pod template of a Deployment created through the API (containers, env), as sent. */
  template?: { metadata?: { labels?: Record<string, string> }; spec?: unknown };
}

export class FakeDeploymentApi {
  private server?: Server;
  private readonly deployments = new Map<string, Stored>();
  /** Namespaces by name: Active, or Terminating after a delete. */
  readonly namespaces = new Map<
    string,
    { phase: 'Active' | 'Terminating'; labels: Record<string, string> }
  >();
  /** ConfigMaps and Secrets by `<kind>/<namespace>/<name>` (kind: configmaps | secrets), as sent. */
  readonly objects = new Map<string, { metadata?: { name?: string }; data?: Record<string, string> }>();
  readonly requests: Array<{ method: string; path: string; contentType?: string; body: string }> = [];
  /** How long a write's (POST, PUT, PATCH, DELETE) answer follows its effect (0: at once). */
  answerDelayMs = 0;

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
      this.namespaces.set(d.namespace, { phase: 'Active', labels: {} });
    }
    this.namespaces.set('default', { phase: 'Active', labels: {} });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  get bearer(): string {
    return this.token;
  }

  /** A kubeconfig file's text pointing at this server with the token, under context `context`. */
  kubeconfig(context = 'dr-aks'): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: dr\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: phoenix\n  user:\n    token: ${this.token}`,
      'contexts:',
      `- name: ${context}\n  context:\n    cluster: dr\n    user: phoenix`,
      `current-context: ${context}`,
    ].join('\n');
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
          metadata: { labels: { app: name }, ...d.template?.metadata, annotations: d.annotations },
          spec: d.template?.spec ?? { containers: [{ name, image: `${name}:1` }] },
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
    if (req.method !== 'GET') answerAfter(res, this.answerDelayMs);
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
    const ns = /^\/api\/v1\/namespaces(?:\/([^/]+))?$/.exec(path);
    if (ns) return this.namespaceCall(req.method ?? 'GET', ns[1], body, send, status);
    const core = /^\/api\/v1\/namespaces\/([^/]+)\/(configmaps|secrets)(?:\/([^/]+))?$/.exec(path);
    if (core) return this.coreObject(req.method ?? 'GET', core[2], core[1], core[3], body, send, status);
    const coll = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments$/.exec(path);
    if (coll && req.method === 'POST') return this.createDeployment(coll[1], body, send, status);
    const m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)(\/scale)?$/.exec(path);
    if (!m) return status(404, 'NotFound', `the server could not find the requested resource (${path})`);
    const [, namespace, name, scale] = m;
    const d = this.deployments.get(`${namespace}/${name}`);
    if (!d) return status(404, 'NotFound', `deployments.apps "${name}" not found`);
    if (req.method === 'GET' && !scale) return send(200, this.object(namespace, name, d));
    if (req.method === 'PUT' && !scale) {
      const sent = JSON.parse(body) as DeploymentBody;
      d.template = sent.spec?.template;
      d.replicas = sent.spec?.replicas ?? d.replicas;
      this.changed(d);
      return send(200, this.object(namespace, name, d));
    }
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

  private namespaceCall(
    method: string,
    name: string | undefined,
    body: string,
    send: Send,
    status: Status,
  ): void {
    const object = (n: string) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: n, labels: this.namespaces.get(n)!.labels },
      status: { phase: this.namespaces.get(n)!.phase },
    });
    if (!name && method === 'POST') {
      const sent = JSON.parse(body) as { metadata?: { name?: string; labels?: Record<string, string> } };
      const n = sent.metadata?.name;
      if (!n)
        return status(422, 'Invalid', 'metadata.name: Required value: name or generateName is required');
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n) || n.length > 63)
        return status(422, 'Invalid', `Namespace "${n}" is invalid: metadata.name: Invalid value: "${n}"`);
      if (this.namespaces.has(n)) return status(409, 'AlreadyExists', `namespaces "${n}" already exists`);
      this.namespaces.set(n, { phase: 'Active', labels: sent.metadata?.labels ?? {} });
      return send(201, object(n));
    }
    if (!name) return status(405, 'MethodNotAllowed', `${method} is not supported here`);
    if (!this.namespaces.has(name)) return status(404, 'NotFound', `namespaces "${name}" not found`);
    if (method === 'GET') return send(200, object(name));
    if (method === 'DELETE') {
      const entry = this.namespaces.get(name)!;
      entry.phase = 'Terminating';
      const answer = object(name);
      // The namespace controller removes what is in it, then the namespace itself.
      setTimeout(() => {
        for (const key of [...this.deployments.keys()])
          if (key.startsWith(`${name}/`)) this.deployments.delete(key);
        for (const key of [...this.objects.keys()]) if (key.split('/')[1] === name) this.objects.delete(key);
        this.namespaces.delete(name);
      }, this.rolloutMs).unref();
      return send(200, answer);
    }
    return status(405, 'MethodNotAllowed', `${method} is not supported here`);
  }

  /** Whether an object may be created in the namespace; if not, answers as the API server does. */
  private admits(namespace: string, object: string, status: Status): boolean {
    const ns = this.namespaces.get(namespace);
    if (!ns) status(404, 'NotFound', `namespaces "${namespace}" not found`);
    else if (ns.phase === 'Terminating')
      status(
        403,
        'Forbidden',
        `${object} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    return ns?.phase === 'Active';
  }

  private coreObject(
    method: string,
    kind: string,
    namespace: string,
    name: string | undefined,
    body: string,
    send: Send,
    status: Status,
  ): void {
    if (method === 'GET' && name) {
      const found = this.objects.get(`${kind}/${namespace}/${name}`);
      return found
        ? send(200, { ...found, metadata: { ...found.metadata, name, namespace } })
        : status(404, 'NotFound', `${kind} "${name}" not found`);
    }
    if (method !== 'POST' || name) return status(405, 'MethodNotAllowed', `${method} is not supported here`);
    const sent = JSON.parse(body) as { metadata?: { name?: string }; data?: Record<string, string> };
    const n = sent.metadata?.name ?? '';
    if (!this.admits(namespace, `${kind} "${n}"`, status)) return;
    if (this.objects.has(`${kind}/${namespace}/${n}`))
      return status(409, 'AlreadyExists', `${kind} "${n}" already exists`);
    this.objects.set(`${kind}/${namespace}/${n}`, sent);
    return send(201, { ...sent, metadata: { ...sent.metadata, namespace } });
  }

  private createDeployment(namespace: string, body: string, send: Send, status: Status): void {
    const sent = JSON.parse(body) as DeploymentBody;
    const name = sent.metadata?.name ?? '';
    if (sent.metadata?.namespace && sent.metadata.namespace !== namespace)
      return status(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    if (!this.admits(namespace, `deployments.apps "${name}"`, status)) return;
    if (this.deployments.has(`${namespace}/${name}`))
      return status(409, 'AlreadyExists', `deployments.apps "${name}" already exists`);
    const d: Stored = {
      generation: 0,
      observed: 0,
      replicas: sent.spec?.replicas ?? 1,
      ready: 0,
      annotations: sent.spec?.template?.metadata?.annotations ?? {},
      restarts: 0,
      template: sent.spec?.template,
    };
    this.deployments.set(`${namespace}/${name}`, d);
    this.changed(d);
    return send(201, this.object(namespace, name, d));
  }
}

type Send = (code: number, value: unknown) => void;
type Status = (code: number, reason: string, message: string) => void;

interface DeploymentBody {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    replicas?: number;
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: unknown;
    };
  };
}
