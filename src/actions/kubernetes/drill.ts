import {
  AppsV1Api,
  CoreV1Api,
  type V1Container,
  type V1Deployment,
  type V1PodTemplateSpec,
} from '@kubernetes/client-node';
import { drillNamespace, drillTag, pointAtScratch, scratchDatabaseOf } from '../shared/drill.js';
import { sleep } from '../shared/net.js';
import { redact } from '../../pg/index.js';
import {
  StepError,
  type CleanupResult,
  type DrillContext,
  type StepContext,
  type StepDrill,
} from '../types.js';
import type { ClusterParams, KubernetesParams } from './config.js';
import { apiMessage, applyDeployment, kubeConfig } from './kubernetes.js';

/** The label a drill namespace carries: the run's drill tag. Cleanup deletes only a namespace with its own tag. */
export const DRILL_LABEL = 'cloudphoenix.io/drill';

const codeOf = (error: unknown) => (error as { code?: number }).code;

function apiError(what: string, error: unknown): StepError {
  return new StepError(`drill: ${what} failed: ${apiMessage(error)}`);
}

/**
 * Creates the drill namespace, labelled with the run's drill tag, or finds the one this run made
 * (a resumed drill). A namespace of the same name that is not this drill's is refused, never reused.
 */
export async function ensureDrillNamespace(
  cluster: ClusterParams,
  name: string,
  runId: string,
): Promise<void> {
  const core = (await kubeConfig(cluster)).makeApiClient(CoreV1Api);
  const tag = drillTag(runId);
  try {
    await core.createNamespace({
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [DRILL_LABEL]: tag } } },
    });
    return;
  } catch (error) {
    if (codeOf(error) !== 409) throw apiError(`creating the drill namespace ${name}`, error);
  }
  const found = await core.readNamespace({ name }).catch((error: unknown) => {
    throw apiError(`reading the drill namespace ${name}`, error);
  });
  if (found.metadata?.labels?.[DRILL_LABEL] !== tag)
    throw new StepError(
      `drill: namespace ${name} already exists and is not this drill's (no ${DRILL_LABEL}=${tag} label): set drill.namespace to a namespace that does not exist`,
    );
  if (found.status?.phase === 'Terminating')
    throw new StepError(`drill: namespace ${name} is being deleted; run the drill again once it is gone`);
}

/**
 * Deletes this drill's namespace (and so everything deployed in it), then reads it until the API
 * server no longer knows it. A namespace without this run's drill label is left alone.
 */
export async function removeDrillNamespace(
  cluster: ClusterParams,
  name: string,
  ctx: Pick<StepContext, 'runId' | 'signal'>,
  pollS = 1,
): Promise<CleanupResult> {
  const core = (await kubeConfig(cluster)).makeApiClient(CoreV1Api);
  const read = () =>
    core.readNamespace({ name }).catch((error: unknown) => {
      if (codeOf(error) === 404) return undefined;
      throw apiError(`reading the drill namespace ${name}`, error);
    });
  const found = await read();
  if (!found) return { summary: `namespace ${name} does not exist: nothing to delete`, left: [] };
  if (found.metadata?.labels?.[DRILL_LABEL] !== drillTag(ctx.runId))
    return { summary: `namespace ${name} is not this drill's: left alone`, left: [] };
  await core.deleteNamespace({ name }).catch((error: unknown) => {
    if (codeOf(error) !== 404) throw apiError(`deleting the drill namespace ${name}`, error);
  });
  const deadline = Date.now() + 120_000;
  let left = await read();
  while (left && Date.now() < deadline && !ctx.signal.aborted) {
    await sleep(pollS * 1000, ctx.signal).catch(() => undefined);
    left = await read();
  }
  return {
    summary: `deleted namespace ${name}${left ? '' : '; the API server no longer knows it'}`,
    left: left ? [`namespace ${name} (${left.status?.phase ?? 'present'})`] : [],
  };
}

/** Points the containers' database env var at the scratch copy; refuses a copy that would use the DR database. */
function pointContainers(
  containers: V1Container[],
  env: string | false,
  ctx: DrillContext,
  databaseStep: string | undefined,
): { database: string | null; url: string | null } {
  const scratch = scratchDatabaseOf(ctx, databaseStep);
  if (env === false) return { database: null, url: null };
  const holders = containers.filter((c) => c.env?.some((e) => e.name === env));
  if (!scratch && holders.length === 0) return { database: null, url: null };
  if (!scratch)
    throw new StepError(
      `drill: the deployment's ${env} would reach the DR database and no database step made a scratch copy before this step; rehearse a database step first, or set drill.database_env: false if the app needs no database`,
    );
  if (holders.length === 0)
    throw new StepError(
      `drill: no container sets ${env}, so the copy cannot be pointed at the scratch database ${scratch.database}; set drill.database_env to the env var holding the database URL (or false if the app needs no database)`,
    );
  let url = '';
  for (const c of holders)
    for (const e of c.env!)
      if (e.name === env) {
        if (e.value === undefined)
          throw new StepError(
            `drill: ${env} of container ${c.name} comes from ${e.valueFrom?.secretKeyRef ? `secret ${e.valueFrom.secretKeyRef.name}` : 'a reference'}, so the copy cannot be pointed at the scratch database; set drill.database_env to an env var with a literal URL`,
          );
        url = pointAtScratch(e.value, scratch, `${env} of container ${c.name}`);
        e.value = url;
      }
  return { database: scratch.database, url: redact(url) };
}

/** The ConfigMaps and Secrets a pod template reads (env, envFrom, volumes), by kind. */
function references(template: V1PodTemplateSpec): Array<{ kind: 'configmap' | 'secret'; name: string }> {
  const spec = template.spec;
  const found = new Map<string, { kind: 'configmap' | 'secret'; name: string }>();
  const add = (kind: 'configmap' | 'secret', name?: string) => {
    if (name) found.set(`${kind}/${name}`, { kind, name });
  };
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    for (const e of c.envFrom ?? []) {
      add('configmap', e.configMapRef?.name);
      add('secret', e.secretRef?.name);
    }
    for (const e of c.env ?? []) {
      add('configmap', e.valueFrom?.configMapKeyRef?.name);
      add('secret', e.valueFrom?.secretKeyRef?.name);
    }
  }
  for (const v of spec?.volumes ?? []) {
    add('configmap', v.configMap?.name);
    add('secret', v.secret?.secretName);
  }
  return [...found.values()];
}

/**
 * Copies the ConfigMaps and Secrets the app reads into the drill namespace (a pod reads them only
 * from its own namespace). The live ones are only read; one missing there is left missing, as live.
 */
async function copyReferences(
  cluster: ClusterParams,
  template: V1PodTemplateSpec,
  from: string,
  to: string,
): Promise<string[]> {
  const core = (await kubeConfig(cluster)).makeApiClient(CoreV1Api);
  const copied: string[] = [];
  for (const { kind, name } of references(template)) {
    const read =
      kind === 'secret'
        ? core.readNamespacedSecret({ name, namespace: from })
        : core.readNamespacedConfigMap({ name, namespace: from });
    const live = await read.catch((error: unknown) => {
      if (codeOf(error) === 404) return undefined;
      throw apiError(`reading ${kind} ${from}/${name}`, error);
    });
    if (!live) continue;
    const body = {
      metadata: { name, labels: live.metadata?.labels },
      data: live.data,
      binaryData: 'binaryData' in live ? live.binaryData : undefined,
      ...('type' in live ? { type: live.type } : {}),
    };
    const create =
      kind === 'secret'
        ? core.createNamespacedSecret({ namespace: to, body })
        : core.createNamespacedConfigMap({ namespace: to, body });
    await create.catch((error: unknown) => {
      // Copied by an earlier attempt of this drill.
      if (codeOf(error) !== 409) throw apiError(`copying ${kind} ${name} into ${to}`, error);
    });
    copied.push(`${kind} ${name}`);
  }
  return copied;
}

/** The live Deployment copied into the drill namespace, its database URL pointed at the scratch copy. */
function drillCopy(
  live: V1Deployment,
  namespace: string,
  tag: string,
  replicas: number | undefined,
): V1Deployment {
  const template = structuredClone(live.spec!.template);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: live.metadata!.name,
      namespace,
      labels: { ...live.metadata?.labels, [DRILL_LABEL]: tag },
    },
    spec: { replicas, selector: live.spec!.selector, template },
  };
}

/**
 * Copies the live Deployment into a drill namespace (default `<namespace>-drill`), with its database
 * URL pointed at the scratch database the database rehearsal made, and scales or restarts the copy as
 * the step would the live one. The live Deployment is only read. Cleanup deletes the namespace.
 */
export const kubernetesDrill: StepDrill<KubernetesParams> = {
  describe: (p) =>
    `copy deployment ${p.namespace}/${p.deployment} into ${p.drill?.namespace ?? `${p.namespace}-drill`} on the scratch database and ${p.action} it there`,
  async rehearse(p, ctx) {
    const namespace = drillNamespace(p.namespace, p.drill);
    const tag = drillTag(ctx.runId);
    const apps = (await kubeConfig(p.cluster)).makeApiClient(AppsV1Api);
    const live = await apps
      .readNamespacedDeployment({ name: p.deployment, namespace: p.namespace })
      .catch((error: unknown) => {
        throw apiError(`reading deployment ${p.namespace}/${p.deployment}`, error);
      });
    const copy = drillCopy(live, namespace, tag, p.action === 'scale' ? p.replicas : live.spec?.replicas);
    const pointed = pointContainers(
      [...(copy.spec!.template.spec?.containers ?? []), ...(copy.spec!.template.spec?.initContainers ?? [])],
      p.drill?.database_env ?? 'DATABASE_URL',
      ctx,
      p.drill?.database_step,
    );
    ctx.progress(`namespace ${namespace}`);
    await ensureDrillNamespace(p.cluster, namespace, ctx.runId);
    const copied = await copyReferences(p.cluster, copy.spec!.template, p.namespace, namespace);
    await apps.createNamespacedDeployment({ namespace, body: copy }).catch(async (error: unknown) => {
      if (codeOf(error) !== 409) throw apiError(`creating deployment ${namespace}/${p.deployment}`, error);
      // Made by an earlier attempt of this drill: bring it to the copy of now.
      await apps
        .replaceNamespacedDeployment({ name: p.deployment, namespace, body: copy })
        .catch((again: unknown) => {
          throw apiError(`replacing deployment ${namespace}/${p.deployment}`, again);
        });
    });
    const result = await applyDeployment({ ...p, namespace }, ctx);
    return {
      summary: `drill: ${result.summary}${pointed.database ? ` on the scratch database ${pointed.database}` : ''}; ${p.namespace}/${p.deployment} untouched`,
      output: {
        ...result.output,
        drill_namespace: namespace,
        copied,
        scratch_database: pointed.database,
        database_url: pointed.url,
      },
    };
  },
  cleanup: (p, ctx) =>
    removeDrillNamespace(p.cluster, drillNamespace(p.namespace, p.drill), ctx, p.poll_interval),
};
