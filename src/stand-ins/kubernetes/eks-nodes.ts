/*
 * Stand-in for an EKS cluster's Kubernetes API as the probes read it: core/v1 nodes and pods lists and
 * /version, with bearer-token auth; eksTokenCheck plays the EKS authenticator's check of a k8s-aws-v1 token.
 * For the probes' and the kubernetes auth tests only.
 * Refuses, as the API server does (source: the comments below; auth.test.ts 'the API server accepts the token for
 * its cluster, refuses another'):
 * - a bearer token it does not accept (401 Unauthorized): an EKS token must be a presigned STS
 *   GetCallerIdentity URL for this cluster (x-k8s-aws-id signed in), signed with these credentials, within its
 *   60 s presign window;
 * - a verb other than GET (405), an unknown path (404).
 * Faults on demand (`mode`): hang, garbage (200 that is not JSON), error (503 ServiceUnavailable).
 * Does not model: label/field selectors, paging (limit/continue), watches, RBAC, STS itself (its signature is
 * recomputed locally).
 */
import type { ServerResponse } from 'node:http';
import { FakeServer, sendJson, sendText } from '../shared/server.js';

export interface FakeNode {
  name: string;
  ready: boolean;
  zone?: string;
  /** AWS zone ID, set as the `topology.k8s.aws/zone-id` label as the AWS cloud controller manager does. */
  zoneId?: string;
}

export interface FakePod {
  namespace: string;
  name: string;
  /** `CrashLoopBackOff` puts the first container in that waiting state. */
  waiting?: string;
  phase?: 'Running' | 'Pending' | 'Succeeded' | 'Failed';
  /** The node it is scheduled on (`spec.nodeName`). */
  node?: string;
}

/** How the fake answers: normally, never (hangs), with garbage, or with a server error. */
export type FakeKubernetesMode = 'normal' | 'hang' | 'garbage' | 'error';

export interface FakeKubernetesState {
  nodes: FakeNode[];
  pods: FakePod[];
  mode: FakeKubernetesMode;
}

function statusObject(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function nodeObject(node: FakeNode, index: number) {
  const now = new Date().toISOString();
  return {
    metadata: {
      name: node.name,
      uid: `node-${index}`,
      resourceVersion: String(1000 + index),
      creationTimestamp: now,
      labels: {
        'kubernetes.io/hostname': node.name,
        ...(node.zone ? { 'topology.kubernetes.io/zone': node.zone } : {}),
        ...(node.zoneId ? { 'topology.k8s.aws/zone-id': node.zoneId } : {}),
      },
    },
    spec: {},
    status: {
      conditions: [
        {
          type: 'MemoryPressure',
          status: 'False',
          reason: 'KubeletHasSufficientMemory',
          lastTransitionTime: now,
        },
        {
          type: 'Ready',
          status: node.ready ? 'True' : 'Unknown',
          reason: node.ready ? 'KubeletReady' : 'NodeStatusUnknown',
          message: node.ready ? 'kubelet is posting ready status' : 'Kubelet stopped posting node status.',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      nodeInfo: { kubeletVersion: 'v1.30.4-eks-a737599', osImage: 'Amazon Linux 2023' },
    },
  };
}

function podObject(pod: FakePod, index: number) {
  const waiting = pod.waiting
    ? { waiting: { reason: pod.waiting, message: 'back-off 5m0s restarting failed container' } }
    : undefined;
  return {
    metadata: {
      name: pod.name,
      namespace: pod.namespace,
      uid: `pod-${index}`,
      resourceVersion: String(5000 + index),
    },
    spec: {
      containers: [{ name: 'app', image: 'example/app:1' }],
      ...(pod.node ? { nodeName: pod.node } : {}),
    },
    status: {
      phase: pod.phase ?? (pod.waiting ? 'Running' : 'Running'),
      containerStatuses: [
        {
          name: 'app',
          image: 'example/app:1',
          imageID: '',
          ready: !pod.waiting,
          restartCount: pod.waiting ? 7 : 0,
          state: waiting ?? { running: { startedAt: new Date().toISOString() } },
        },
      ],
    },
  };
}

/**
 * A local server speaking the Kubernetes API's nodes and pods lists (core/v1,
 * bearer-token auth, `Status` objects for errors), for tests and the lab,
 * driven through @kubernetes/client-node. `POST /_admin/state` changes nodes,
 * pods and mode while it runs.
 */
export class FakeKubernetes {
  readonly state: FakeKubernetesState;
  private readonly server: FakeServer;

  /** Besides `token`, bearer tokens this check accepts (as an EKS API server asks its authenticator). */
  accepts?: (token: string) => Promise<boolean>;

  constructor(
    readonly token: string,
    initial: Partial<FakeKubernetesState> = {},
  ) {
    this.state = { nodes: initial.nodes ?? [], pods: initial.pods ?? [], mode: initial.mode ?? 'normal' };
    this.server = new FakeServer(
      (req, _body, res, url) => this.handle(req.headers.authorization, req.method ?? 'GET', url, res),
      {
        get: () => this.state,
        set: (value) => Object.assign(this.state, value as Partial<FakeKubernetesState>),
      },
    );
  }

  static async start(token: string, initial: Partial<FakeKubernetesState> = {}): Promise<FakeKubernetes> {
    const fake = new FakeKubernetes(token, initial);
    await fake.server.start();
    return fake;
  }

  get url(): string {
    return this.server.url;
  }

  /** A kubeconfig file's text pointing at this server with the token. */
  kubeconfig(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: fake\n  user:\n    token: ${this.token}`,
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: fake',
      'current-context: fake',
      '',
    ].join('\n');
  }

  setNodes(nodes: FakeNode[]): void {
    this.state.nodes = nodes;
  }

  setPods(pods: FakePod[]): void {
    this.state.pods = pods;
  }

  setMode(mode: FakeKubernetesMode): void {
    this.state.mode = mode;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(
    auth: string | undefined,
    method: string,
    url: URL,
    res: ServerResponse,
  ): Promise<void> {
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : '';
    if (bearer !== this.token && !(bearer && (await this.accepts?.(bearer))))
      return sendJson(res, 401, statusObject(401, 'Unauthorized', 'Unauthorized'));
    if (this.state.mode === 'hang') {
      await this.server.delay(3_600_000, res);
      return;
    }
    if (this.state.mode === 'garbage')
      return sendText(res, 200, '<html>502 Bad Gateway</html>', 'application/json');
    if (this.state.mode === 'error')
      return sendJson(
        res,
        503,
        statusObject(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'),
      );
    if (method !== 'GET')
      return sendJson(res, 405, statusObject(405, 'MethodNotAllowed', 'the fake serves GET only'));
    if (url.pathname === '/version')
      return sendJson(res, 200, {
        major: '1',
        minor: '30',
        gitVersion: 'v1.30.4-eks-fake',
        platform: 'linux/amd64',
      });
    if (url.pathname === '/api/v1/nodes')
      return sendJson(res, 200, {
        kind: 'NodeList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '1' },
        items: this.state.nodes.map(nodeObject),
      });
    if (url.pathname === '/api/v1/pods') {
      const selector = url.searchParams.get('fieldSelector') ?? '';
      const excluded = /status\.phase!=(\w+)/.exec(selector)?.[1];
      const pods = this.state.pods.filter((p) => !excluded || (p.phase ?? 'Running') !== excluded);
      return sendJson(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '1' },
        items: pods.map(podObject),
      });
    }
    return sendJson(
      res,
      404,
      statusObject(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`),
    );
  }
}

/**
 * What the EKS authenticator checks of a `k8s-aws-v1.` token, with STS's part
 * done locally: the presigned GetCallerIdentity URL must be for this cluster
 * (`x-k8s-aws-id` signed in), signed with these credentials, and not older
 * than its 60 s presign window, checked by signing the same request again.
 */
export function eksTokenCheck(
  cluster: string,
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): (token: string) => Promise<boolean> {
  return async (token) => {
    if (!token.startsWith('k8s-aws-v1.')) return false;
    let url: URL;
    try {
      url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString());
    } catch {
      return false;
    }
    const q = url.searchParams;
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q.get('X-Amz-Date') ?? '');
    if (!date || url.host !== `sts.${region}.amazonaws.com`) return false;
    const signedAt = new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`);
    if (Math.abs(Date.now() - signedAt.getTime()) > 60_000) return false;
    const { SignatureV4 } = await import('@smithy/signature-v4');
    const { Sha256 } = await import('@aws-crypto/sha256-js');
    const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256 });
    const again = await signer.presign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: url.host,
        path: '/',
        headers: { host: url.host, 'x-k8s-aws-id': cluster },
        query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      },
      { expiresIn: Number(q.get('X-Amz-Expires') ?? 60), signingDate: signedAt },
    );
    return q.get('X-Amz-Signature') === String(again.query?.['X-Amz-Signature']);
  };
}
