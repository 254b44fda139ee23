import { readFileSync } from 'node:fs';
import type { CoreV1Api, KubeConfig, V1Node, V1Pod } from '@kubernetes/client-node';
import type { Signal } from '../core/index.js';
import type { ProbeConfig } from '../config/sections/probes.js';
import { describeError, type Probe } from './probe.js';
import { statusFromShare } from './http.js';

/** Builds the client config from a kubeconfig file or an inline server URL and token. */
export async function kubeConfigFrom(config: ProbeConfig): Promise<KubeConfig> {
  // The client is large; load it only when a kubernetes_nodes probe runs.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (config.kubeconfig) {
    try {
      kc.loadFromFile(config.kubeconfig);
    } catch (error) {
      throw new Error(`cannot read kubeconfig ${config.kubeconfig}: ${describeError(error)}; check the path`);
    }
    if (config.context) kc.setCurrentContext(config.context);
    // `aws eks get-token` / kubelogin users get tokens made in-process: the image has neither binary.
    return (await import('../actions/kubernetes/auth.js')).withInProcessTokens(kc);
  }
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

/**
 * `kubernetes_nodes` (the `eks_nodes` signal): Ready nodes out of all nodes.
 * Pods in CrashLoopBackOff are counted when asked but do not change the
 * status: they point at our own code, which the analysis must see apart from
 * lost nodes.
 */
export function kubernetesNodesProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  let api: CoreV1Api | undefined;
  return {
    name,
    type: 'kubernetes_nodes',
    timeout_s,
    async prepare() {
      await import('@kubernetes/client-node');
    },
    async run(context) {
      if (!api) {
        const { CoreV1Api } = await import('@kubernetes/client-node');
        api = (await kubeConfigFrom(config)).makeApiClient(CoreV1Api);
      }
      const client = api;
      let nodes: V1Node[];
      try {
        const list = await context.limit(() => client.listNode({}));
        if (!list || !Array.isArray(list.items))
          return { status: 'error', detail: 'API answer has no items list; is that a Kubernetes API?' };
        nodes = list.items;
      } catch (error) {
        return { status: 'error', detail: `listing nodes: ${describeKubeError(error)}` };
      }
      const ready = nodes.filter(isReady).length;
      const total = nodes.length;
      const signal: Signal = {
        status:
          total === 0
            ? 'error'
            : statusFromShare(total - ready, total, config.degraded_share, config.error_share),
        ready,
        total,
      };
      const notReady = nodes.filter((n) => !isReady(n)).map((n) => n.metadata?.name ?? '?');
      const notes: string[] = [];
      if (total === 0) notes.push('the cluster lists no nodes');
      if (notReady.length) {
        signal.not_ready = notReady.slice(0, 10);
        notes.push(`${notReady.length}/${total} nodes not Ready: ${notReady.slice(0, 5).join(', ')}`);
      }
      if (config.crashloop) {
        try {
          const pods = await context.limit(() =>
            client.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded' }),
          );
          const looping = (pods.items ?? []).filter(inCrashLoop);
          signal.crashloop_pods = looping.length;
          if (looping.length) {
            signal.crashloop = looping
              .slice(0, 10)
              .map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
            notes.push(`${looping.length} pods in CrashLoopBackOff`);
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
