import { ensureDrillNamespace, removeDrillNamespace } from '../kubernetes/drill.js';
import type { ClusterParams } from '../kubernetes/config.js';
import { drillNamespace, pointAtScratch, scratchDatabaseOf } from '../shared/drill.js';
import { redact } from '../../pg/index.js';
import { runProcess } from '../shared/process.js';
import { StepError, type StepContext, type StepDrill } from '../types.js';
import type { HelmParams } from './config.js';
import { helmAdapter } from './helm.js';

const cluster = (p: HelmParams): ClusterParams => ({
  kubeconfig: p.kubeconfig,
  context: p.kube_context,
  insecure_skip_tls_verify: false,
});

const clusterArgs = (p: HelmParams) => [
  ...(p.kube_context ? ['--kube-context', p.kube_context] : []),
  ...(p.kubeconfig ? ['--kubeconfig', p.kubeconfig] : []),
];

/** The release's `set`, its database value pointed at the scratch copy; refuses a release that would use the DR database. */
function drillValues(p: HelmParams, ctx: Parameters<StepDrill<HelmParams>['rehearse']>[1]) {
  const key = p.drill?.database_value;
  const scratch = scratchDatabaseOf(ctx, p.drill?.database_step);
  if (key === false || (key === undefined && !scratch)) return { set: p.set, database: null, url: null };
  if (!scratch)
    throw new StepError(
      `drill: ${key} would reach the DR database and no database step made a scratch copy before this step; rehearse a database step first, or set drill.database_value: false`,
    );
  if (key === undefined)
    throw new StepError(
      `drill: the release's database is not known, so it cannot be pointed at the scratch database ${scratch.database}; set drill.database_value to the key of set holding the database URL (or false if the release needs no database)`,
    );
  if (p.set[key] === undefined)
    throw new StepError(
      `drill: set has no ${key}, so the release cannot be pointed at the scratch database; give the database URL as set.${key}`,
    );
  const url = pointAtScratch(String(p.set[key]), scratch, `set.${key}`);
  return { set: { ...p.set, [key]: url }, database: scratch.database, url: redact(url) };
}

/** Uninstalls the drill release, then asks helm until it no longer knows it. */
async function uninstall(p: HelmParams, namespace: string, ctx: StepContext): Promise<string[]> {
  const args = ['--namespace', namespace, ...clusterArgs(p)];
  const removed = await runProcess(p.binary, ['uninstall', p.release, ...args, '--wait'], {
    signal: ctx.signal,
    allowFailure: true,
  });
  if (removed.code !== 0 && !/not found/i.test(removed.stderr))
    throw new StepError(
      `drill: helm uninstall ${p.release} -n ${namespace} failed: ${removed.stderr.trim()}`,
    );
  const status = await runProcess(p.binary, ['status', p.release, ...args], {
    signal: ctx.signal,
    allowFailure: true,
  });
  if (status.code === 0) return [`helm release ${p.release} in ${namespace}`];
  if (!/not found/i.test(status.stderr))
    throw new StepError(`drill: helm status ${p.release} -n ${namespace} failed: ${status.stderr.trim()}`);
  return [];
}

/**
 * Installs the release into a drill namespace (default `<namespace>-drill`, made and labelled by the
 * drill) with its database value pointed at the scratch database; the live release is untouched.
 * Cleanup uninstalls it and deletes the namespace, and checks both are gone.
 */
export const helmDrill: StepDrill<HelmParams> = {
  describe: (p) =>
    `helm upgrade --install ${p.release} into ${p.drill?.namespace ?? `${p.namespace}-drill`} on the scratch database`,
  async rehearse(p, ctx) {
    const namespace = drillNamespace(p.namespace, p.drill);
    const values = drillValues(p, ctx);
    ctx.progress(`namespace ${namespace}`);
    await ensureDrillNamespace(cluster(p), namespace, ctx.runId);
    const result = await helmAdapter.run({ ...p, namespace, create_namespace: false, set: values.set }, ctx);
    return {
      summary: `drill: ${result.summary}${values.database ? ` on the scratch database ${values.database}` : ''}; release ${p.release} in ${p.namespace} untouched`,
      output: {
        revision: result.output?.revision,
        status: result.output?.status,
        drill_namespace: namespace,
        scratch_database: values.database,
        database_url: values.url,
      },
    };
  },
  async cleanup(p, ctx) {
    const namespace = drillNamespace(p.namespace, p.drill);
    const release = await uninstall(p, namespace, ctx);
    const ns = await removeDrillNamespace(cluster(p), namespace, ctx);
    return {
      summary: `uninstalled ${p.release} from ${namespace}${release.length ? '' : ' (helm no longer knows it)'}; ${ns.summary}`,
      left: [...release, ...ns.left],
    };
  },
};
