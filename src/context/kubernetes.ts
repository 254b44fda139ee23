import { AppsV1Api, KubeConfig, type V1ReplicaSet } from '@kubernetes/client-node';
import type { ChangeRecord } from '../core/index.js';
import { oneLine, SourceError } from './http.js';

export interface KubernetesSettings {
  kubeconfig?: string;
  context?: string;
  namespaces?: string[];
  since: number;
}

const REVISION = 'deployment.kubernetes.io/revision';

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new SourceError('kubernetes: no answer in time'));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new SourceError('kubernetes: no answer in time'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function describeK8sError(error: unknown): string {
  const e = error as { code?: number; message?: string; body?: unknown; cause?: { code?: string } };
  if (error instanceof SourceError) return error.message;
  if (typeof e?.code === 'number') {
    const hint = e.code === 401 || e.code === 403 ? ' (the credentials may not list replicasets)' : '';
    return `kubernetes: HTTP ${e.code}${hint}`;
  }
  return `kubernetes: ${oneLine(e?.cause?.code ?? e?.message ?? String(error), 160)}`;
}

/**
 * Recent Deployment rollouts as `deploy` changes. Each rollout creates a new
 * ReplicaSet revision (what `kubectl rollout history` lists), so ReplicaSets
 * owned by a Deployment and created inside the window are the rollouts.
 */
export class KubernetesChangesGatherer {
  private readonly api: AppsV1Api;

  constructor(private readonly settings: KubernetesSettings) {
    const kc = new KubeConfig();
    try {
      if (settings.kubeconfig) kc.loadFromFile(settings.kubeconfig);
      else kc.loadFromDefault();
      if (settings.context) kc.setCurrentContext(settings.context);
    } catch (error) {
      throw new SourceError(
        `kubernetes: cannot load the kubeconfig${settings.kubeconfig ? ` ${settings.kubeconfig}` : ''}: ${(error as Error).message}`,
      );
    }
    this.api = kc.makeApiClient(AppsV1Api);
  }

  async gather(now: number, signal: AbortSignal): Promise<ChangeRecord[]> {
    let sets: V1ReplicaSet[];
    try {
      const lists = this.settings.namespaces?.length
        ? await Promise.all(
            this.settings.namespaces.map((namespace) =>
              abortable(this.api.listNamespacedReplicaSet({ namespace }), signal),
            ),
          )
        : [await abortable(this.api.listReplicaSetForAllNamespaces(), signal)];
      sets = lists.flatMap((l) => l.items ?? []);
    } catch (error) {
      throw new SourceError(describeK8sError(error));
    }
    const from = now - this.settings.since;
    const changes: ChangeRecord[] = [];
    for (const rs of sets) {
      const owner = rs.metadata?.ownerReferences?.find((o) => o.kind === 'Deployment');
      const created = rs.metadata?.creationTimestamp;
      if (!owner || !created) continue;
      const at = new Date(created).getTime() / 1000;
      if (!(at >= from && at <= now + 60)) continue;
      const revision = rs.metadata?.annotations?.[REVISION];
      const images = (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image).filter(Boolean);
      changes.push({
        at,
        kind: 'deploy',
        service: owner.name,
        description: `rollout of deployment ${rs.metadata?.namespace ?? 'default'}/${owner.name}${revision ? ` to revision ${revision}` : ''}${images.length ? ` (${images.join(', ')})` : ''}`,
      });
    }
    return changes.sort((a, b) => a.at - b.at);
  }
}
