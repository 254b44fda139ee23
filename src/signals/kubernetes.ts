import { readFileSync } from 'node:fs';
import type { CoreV1Api, KubeConfig, V1Node, V1Pod } from '@kubernetes/client-node';
import type { Signal, ZoneNodeCount } from '../core/index.js';
import type { ProbeConfig } from '../config/sections/probes.js';
import { describeError, type Probe, type ProbeRunContext } from './probe.js';
import { statusFromShare } from './http.js';
import { KUBE_TOKEN_REUSE_MS } from '../actions/kubernetes/auth.js';

/**
 * Builds the client config from a kubeconfig file, an inline server URL and token, or (with neither)
 * the pod's own service account; exec users (`aws eks get-token`, kubelogin) get in-process tokens.
 */
export async function kubeConfigFrom(config: ProbeConfig): Promise<KubeConfig> {
  if (!config.cluster) {
    try {
      return await (
        await import('../actions/kubernetes/auth.js')
      ).loadKubeConfig({ kubeconfig: config.kubeconfig, context: config.context });
    } catch (error) {
      throw new Error(describeError(error));
    }
  }
  // The client is large; load it only when a kubernetes_nodes probe runs.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const cluster = config.cluster!;
  kc.loadFromOptions({
    clusters: [
      {
        name: 'probe',
        server: cluster.server,
        // The client refuses plain-HTTP servers unless TLS verification is off; over http:// there is nothing to verify.
        skipTLSVerify: cluster.insecure ?? cluster.server.startsWith('http:'),
        ...(cluster.ca_file ? { caData: readFileSync(cluster.ca_file).toString('base64') } : {}),
      },
    ],
    users: [{ name: 'probe', ...(cluster.token ? { token: cluster.token } : {}) }],
    contexts: [{ name: 'probe', cluster: 'probe', user: 'probe' }],
    currentContext: 'probe',
  });
  return kc;
}

function isReady(node: V1Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function inCrashLoop(pod: V1Pod): boolean {
  return [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].some(
    (c) => c.state?.waiting?.reason === 'CrashLoopBackOff',
  );
}

/** Names the Kubernetes client's error in one line: HTTP status and the API's own message where there is one. */
function describeKubeError(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string };
  if (typeof e?.code === 'number') {
    let message = '';
    try {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      message = (body as { message?: string })?.message ?? '';
    } catch {
      message = 'answer is not a Kubernetes Status object';
    }
    const hint =
      e.code === 401 ? ' (check the token)' : e.code === 403 ? ' (the token may not list nodes)' : '';
    return `API answered ${e.code}${message ? ': ' + message : ''}${hint}`;
  }
  const text = describeError(error);
  if (/HTTP protocol is not allowed/.test(text))
    return 'the API server URL is http://; set insecure-skip-tls-verify: true in the kubeconfig or use https';
  if (/JSON|Unexpected token|is not valid/i.test(text))
    return `API answered something that is not JSON (${text.slice(0, 80)})`;
  return text;
}

/** The zone labels a node carries: the well-known one (the beta label on old clusters) and AWS's zone ID. */
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const BETA_ZONE_LABEL = 'failure-domain.beta.kubernetes.io/zone';
const ZONE_ID_LABEL = 'topology.k8s.aws/zone-id';

/**
 * Ready and total nodes per Availability Zone. Keyed by AWS zone ID (`use1-az1`, the same in every
 * account) when every zoned node carries one, else by zone name (`us-east-1a`), so that one map never
 * mixes the two schemes. Nodes with no zone label are left out; no zoned node at all gives undefined.
 */
function zonesOf(nodes: V1Node[]): Record<string, ZoneNodeCount> | undefined {
  const labelled = nodes
    .map((node) => ({ node, labels: node.metadata?.labels ?? {} }))
    .filter(({ labels }) => labels[ZONE_ID_LABEL] || labels[ZONE_LABEL] || labels[BETA_ZONE_LABEL]);
  if (labelled.length === 0) return undefined;
  const byId = labelled.every(({ labels }) => labels[ZONE_ID_LABEL]);
  const zones: Record<string, ZoneNodeCount> = {};
  for (const { node, labels } of labelled) {
    const key = byId ? labels[ZONE_ID_LABEL] : (labels[ZONE_LABEL] ?? labels[BETA_ZONE_LABEL]);
    if (!key) continue;
    const zone = (zones[key] ??= { ready: 0, total: 0 });
    zone.total++;
    if (isReady(node)) zone.ready++;
  }
  return zones;
}

/**
 * Pods in CrashLoopBackOff, and of those the ones on Ready nodes: a pod crash-looping on a
 * healthy node points at our own code, one on a lost node says nothing new.
 */
async function crashLoops(
  client: CoreV1Api,
  context: ProbeRunContext,
  readyNodes: Set<string>,
): Promise<{ looping: V1Pod[]; onReadyNodes: number }> {
  const pods = await context.limit(() =>
    client.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded' }),
  );
  const looping = (pods.items ?? []).filter(inCrashLoop);
  const onReadyNodes = looping.filter((p) => p.spec?.nodeName && readyNodes.has(p.spec.nodeName)).length;
  return { looping, onReadyNodes };
}

/** The signal from the node list: counts, status, zones and the names of the nodes not Ready. */
function nodeSignal(nodes: V1Node[], config: ProbeConfig, notes: string[]): Signal {
  const ready = nodes.filter(isReady).length;
  const total = nodes.length;
  // An empty cluster serves nothing: never "every node is Ready".
  const signal: Signal = {
    status:
      total === 0
        ? 'error'
        : statusFromShare(total - ready, total, config.degraded_share, config.error_share),
    ready,
    total,
  };
  const zones = zonesOf(nodes);
  if (zones) signal.zones = zones;
  const notReady = nodes.filter((n) => !isReady(n)).map((n) => n.metadata?.name ?? '?');
  if (total === 0) notes.push('the cluster lists no nodes');
  if (notReady.length) {
    signal.not_ready = notReady.slice(0, 10);
    notes.push(`${notReady.length}/${total} nodes not Ready: ${notReady.slice(0, 5).join(', ')}`);
  }
  return signal;
}

/**
 * `kubernetes_nodes` (the `eks_nodes` signal): Ready nodes out of all nodes,
 * per zone (structured fact `zones`). Pods in CrashLoopBackOff are counted
 * when asked (`crashlooping`: those on Ready nodes) but do not change the
 * status: they point at our own code, which the analysis must see apart from
 * lost nodes.
 */
export function kubernetesNodesProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  let api: { client: CoreV1Api; builtAt: number } | undefined;
  return {
    name,
    type: 'kubernetes_nodes',
    timeout_s,
    async prepare() {
      await import('@kubernetes/client-node');
    },
    async run(context) {
      // Tokens made in-process expire (EKS: 15 minutes): the client is built again before they do.
      if (!api || performance.now() - api.builtAt > KUBE_TOKEN_REUSE_MS) {
        const { CoreV1Api } = await import('@kubernetes/client-node');
        let kc: KubeConfig;
        try {
          kc = await kubeConfigFrom(config);
        } catch (error) {
          return { status: 'unknown', detail: (error as Error).message };
        }
        api = { client: kc.makeApiClient(CoreV1Api), builtAt: performance.now() };
      }
      const client = api.client;
      let nodes: V1Node[];
      try {
        const list = await context.limit(() => client.listNode({}));
        if (!list || !Array.isArray(list.items))
          return { status: 'error', detail: 'API answer has no items list; is that a Kubernetes API?' };
        nodes = list.items;
      } catch (error) {
        return { status: 'error', detail: `listing nodes: ${describeKubeError(error)}` };
      }
      const notes: string[] = [];
      const signal = nodeSignal(nodes, config, notes);
      if (config.crashloop) {
        const readyNodes = new Set(nodes.filter(isReady).map((n) => n.metadata?.name ?? ''));
        try {
          const { looping, onReadyNodes } = await crashLoops(client, context, readyNodes);
          signal.crashloop_pods = looping.length;
          signal.crashlooping = onReadyNodes;
          if (looping.length) {
            signal.crashloop = looping
              .slice(0, 10)
              .map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
            notes.push(`${looping.length} pods in CrashLoopBackOff (${onReadyNodes} on Ready nodes)`);
          }
        } catch (error) {
          notes.push(`listing pods: ${describeKubeError(error)}`);
        }
      }
      if (notes.length) signal.detail = notes.join('; ');
      return signal;
    },
  };
}
