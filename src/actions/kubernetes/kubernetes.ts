import {
  AppsV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import { sleep } from '../shared/net.js';
import { endpointCheck } from '../shared/net.js';
import {
  StepError,
  type PreflightCheck,
  type StepAdapter,
  type StepContext,
  type StepResult,
} from '../types.js';
import { loadKubeConfig } from './auth.js';
import { kubernetesParamsSchema, type ClusterParams, type KubernetesParams } from './config.js';

/** The annotation `kubectl rollout restart` sets; its value changes the pod template and rolls the pods. */
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
/** Which run and step restarted the pods: a resumed step sees its own restart and does not roll them again. */
const RESTARTED_BY = 'cloudphoenix.io/restarted-by';

/** The cluster's client configuration; kubeconfig users that exec `aws` or `kubelogin` get in-process tokens. */
export async function kubeConfig(cluster: ClusterParams): Promise<KubeConfig> {
  if (!cluster.server) {
    try {
      return await loadKubeConfig({ kubeconfig: cluster.kubeconfig, context: cluster.context });
    } catch (error) {
      throw new StepError(
        (error as Error).message.replace('check the context name', 'check cluster.context'),
      );
    }
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'target', server: cluster.server, skipTLSVerify: cluster.insecure_skip_tls_verify }],
    users: [{ name: 'phoenix', token: cluster.token }],
    contexts: [{ name: 'target', cluster: 'target', user: 'phoenix' }],
    currentContext: 'target',
  });
  return kc;
}

export function apiMessage(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string };
  let detail = e.message ?? String(error);
  if (typeof e.body === 'string') {
    try {
      detail = (JSON.parse(e.body) as { message?: string }).message ?? detail;
    } catch {
      // keep the SDK's message
    }
  }
  return e.code ? `HTTP ${e.code}: ${detail}` : detail;
}

function rolledOut(d: V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want
  );
}

/** One Deployment and the API client that reaches it; `call` names the Deployment in any failure. */
interface DeploymentHandle {
  apps: AppsV1Api;
  p: KubernetesParams;
  call<T>(what: string, work: () => Promise<T>): Promise<T>;
}

function readDeployment({ apps, p, call }: DeploymentHandle): Promise<V1Deployment> {
  return call('reading', () => apps.readNamespacedDeployment({ name: p.deployment, namespace: p.namespace }));
}

/** Sets the replica count through the scale subresource, unless it is already there. */
async function scaleDeployment({ apps, p, call }: DeploymentHandle, before: V1Deployment): Promise<string> {
  if (before.spec?.replicas === p.replicas) return `already at ${p.replicas} replicas`;
  await call('scaling', () =>
    apps.replaceNamespacedDeploymentScale({
      name: p.deployment,
      namespace: p.namespace,
      body: {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name: p.deployment, namespace: p.namespace },
        spec: { replicas: p.replicas },
      },
    }),
  );
  return `scaled from ${before.spec?.replicas ?? '?'} to ${p.replicas} replicas`;
}

/** Rolls the pods as `kubectl rollout restart` does, once per run and step. */
async function restartDeployment(
  { apps, p, call }: DeploymentHandle,
  before: V1Deployment,
  marker: string,
): Promise<string> {
  if (before.spec?.template?.metadata?.annotations?.[RESTARTED_BY] === marker)
    return 'restart already requested by this step';
  await call('restarting', () =>
    apps.patchNamespacedDeployment(
      {
        name: p.deployment,
        namespace: p.namespace,
        body: {
          spec: {
            template: {
              metadata: {
                annotations: { [RESTARTED_AT]: new Date().toISOString(), [RESTARTED_BY]: marker },
              },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ),
  );
  return 'restarted its pods';
}

/** Reads the Deployment every `poll_interval` until its rollout is complete. */
async function waitForRollout(
  deployment: DeploymentHandle,
  ctx: Pick<StepContext, 'signal' | 'progress'>,
): Promise<V1Deployment> {
  for (;;) {
    const after = await readDeployment(deployment);
    if (rolledOut(after)) return after;
    ctx.progress(
      `${after.status?.updatedReplicas ?? 0}/${after.spec?.replicas ?? '?'} updated, ${after.status?.availableReplicas ?? 0} available`,
    );
    await sleep(deployment.p.poll_interval * 1000, ctx.signal);
  }
}

/** Scales or restarts a Deployment and waits for the rollout. Both are safe to repeat. */
export async function applyDeployment(
  p: KubernetesParams,
  ctx: Pick<StepContext, 'signal' | 'progress' | 'runId' | 'step'>,
): Promise<StepResult> {
  const apps = (await kubeConfig(p.cluster)).makeApiClient(AppsV1Api);
  const target = `deployment ${p.namespace}/${p.deployment}`;
  const deployment: DeploymentHandle = {
    apps,
    p,
    async call(what, work) {
      try {
        return await work();
      } catch (error) {
        throw new StepError(`${what} ${target} failed: ${apiMessage(error)}`);
      }
    },
  };
  const before = await readDeployment(deployment);
  const did =
    p.action === 'scale'
      ? await scaleDeployment(deployment, before)
      : await restartDeployment(deployment, before, `${ctx.runId}/${ctx.step}`);
  const after = p.wait ? await waitForRollout(deployment, ctx) : before;
  return {
    summary: `${target}: ${did}${p.wait ? ', rollout complete' : ''}`,
    output: {
      replicas: after.spec?.replicas,
      available: after.status?.availableReplicas ?? 0,
      generation: after.metadata?.generation,
    },
  };
}

export async function clusterPreflight(
  cluster: ClusterParams,
  namespace: string,
  deployment: string,
  timeoutMs: number,
): Promise<PreflightCheck[]> {
  let kc: KubeConfig;
  try {
    kc = await kubeConfig(cluster);
  } catch (error) {
    return [{ check: 'kubeconfig', ok: false, detail: (error as Error).message }];
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server)
    return [
      { check: 'kubeconfig', ok: false, detail: 'no current cluster in the kubeconfig; set cluster.context' },
    ];
  const reach = await endpointCheck('Kubernetes API', server, timeoutMs);
  if (!reach.ok) return [reach];
  try {
    const apps = kc.makeApiClient(AppsV1Api);
    const d = await Promise.race([
      apps.readNamespacedDeployment({ name: deployment, namespace }),
      sleep(timeoutMs).then(() => {
        throw new Error(`no answer within ${timeoutMs} ms`);
      }),
    ]);
    return [
      reach,
      {
        check: `deployment ${namespace}/${deployment} exists`,
        ok: true,
        detail: `${d.spec?.replicas ?? '?'} replicas`,
      },
    ];
  } catch (error) {
    return [
      reach,
      { check: `deployment ${namespace}/${deployment} exists`, ok: false, detail: apiMessage(error) },
    ];
  }
}

export const kubernetesAdapter: StepAdapter<KubernetesParams> = {
  type: 'kubernetes',
  schema: kubernetesParamsSchema,
  describe: (p) =>
    p.action === 'scale'
      ? `scale deployment ${p.namespace}/${p.deployment} to ${p.replicas}`
      : `restart the pods of deployment ${p.namespace}/${p.deployment}`,
  preflight: (p, ctx) => clusterPreflight(p.cluster, p.namespace, p.deployment, ctx.timeoutMs),
  run: (p, ctx) => applyDeployment(p, ctx),
};
