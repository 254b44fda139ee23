import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { waitUntil } from '../../lab/index.js';
import { scratchDatabase } from '../database/drill.js';
import { drillTag } from '../shared/drill.js';
import { drillAfterDatabase, stepContext } from '../shared/test-context.js';
import type { DrillContext } from '../types.js';
import { kubernetesParamsSchema } from './config.js';
import { DRILL_LABEL, kubernetesDrill } from './drill.js';
import { FakeDeploymentApi } from '../../stand-ins/kubernetes/apiserver.js';

const LIVE_URL = 'postgresql://shop:s3cret@dr-db.internal:5432/shop?sslmode=require';
let api: FakeDeploymentApi;
let apps: AppsV1Api;

function deployment(
  namespace: string,
  name: string,
  replicas: number,
  env: Record<string, string>,
): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name, image: `${name}:7`, env: Object.entries(env).map(([k, value]) => ({ name: k, value })) },
          ],
        },
      },
    },
  };
}

before(async () => {
  api = await new FakeDeploymentApi([{ namespace: 'shop', name: 'placeholder', replicas: 1 }], 300).start();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'dr', server: api.url, skipTLSVerify: true }],
    users: [{ name: 'phoenix', token: api.bearer }],
    contexts: [{ name: 'dr', cluster: 'dr', user: 'phoenix' }],
    currentContext: 'dr',
  });
  apps = kc.makeApiClient(AppsV1Api);
  // The app reads a ConfigMap (envFrom) and a Secret (a volume) of its namespace.
  api.objects.set('configmaps/shop/web-config', { data: { LOG_LEVEL: 'info' } });
  api.objects.set('secrets/shop/web-tls', { data: { 'tls.key': 'c2VjcmV0' } });
  const live = deployment('shop', 'web', 2, { DATABASE_URL: LIVE_URL, MODE: 'dr' });
  live.spec!.template.spec!.containers[0].envFrom = [{ configMapRef: { name: 'web-config' } }];
  live.spec!.template.spec!.volumes = [{ name: 'tls', secret: { secretName: 'web-tls' } }];
  await apps.createNamespacedDeployment({ namespace: 'shop', body: live });
});

after(() => api.stop());

const params = (extra: Record<string, unknown> = {}) =>
  kubernetesParamsSchema.parse({
    action: 'scale',
    namespace: 'shop',
    deployment: 'web',
    replicas: 3,
    cluster: { server: api.url, token: api.bearer, insecure_skip_tls_verify: true },
    poll_interval: 0.05,
    ...extra,
  });

const afterDatabase = (runId: string) =>
  drillAfterDatabase(runId, 'postgresql://shop:***@dr-db.internal:5432/shop');

const envOf = (d: V1Deployment, name: string) =>
  d.spec?.template.spec?.containers[0].env?.find((e) => e.name === name)?.value;

test('the rehearsal deploys a copy into the drill namespace on the scratch database; cleanup deletes the namespace and checks it is gone', async () => {
  const runId = 'drill-k8s-1';
  const ctx = afterDatabase(runId);
  const result = await kubernetesDrill.rehearse(params(), ctx);
  assert.match(
    result.summary,
    /^drill: deployment shop-drill\/web: scaled from 2 to 3 replicas|already at 3/,
  );
  assert.match(
    result.summary,
    new RegExp(`on the scratch database ${scratchDatabase(runId)}; shop/web untouched`),
  );
  const copy = await apps.readNamespacedDeployment({ name: 'web', namespace: 'shop-drill' });
  assert.equal(copy.spec?.replicas, 3);
  assert.equal(copy.status?.availableReplicas, 3, 'the rehearsal waited for the copy to roll out');
  assert.equal(
    envOf(copy, 'DATABASE_URL'),
    `postgresql://shop:s3cret@dr-db.internal:5432/${scratchDatabase(runId)}?sslmode=require`,
  );
  assert.equal(envOf(copy, 'MODE'), 'dr');
  assert.equal(api.namespaces.get('shop-drill')?.labels[DRILL_LABEL], drillTag(runId));
  assert.deepEqual(result.output?.copied, ['configmap web-config', 'secret web-tls']);
  assert.deepEqual(api.objects.get('configmaps/shop-drill/web-config')?.data, { LOG_LEVEL: 'info' });
  assert.deepEqual(api.objects.get('secrets/shop-drill/web-tls')?.data, { 'tls.key': 'c2VjcmV0' });
  assert.equal(
    result.output?.database_url,
    `postgresql://shop:***@dr-db.internal:5432/${scratchDatabase(runId)}?sslmode=require`,
    'the journal never holds the password',
  );
  const live = await apps.readNamespacedDeployment({ name: 'web', namespace: 'shop' });
  assert.equal(live.spec?.replicas, 2);
  assert.equal(envOf(live, 'DATABASE_URL'), LIVE_URL);

  // A resumed attempt finds its own namespace and copy and converges on them.
  const again = await kubernetesDrill.rehearse(params(), { ...ctx, attempt: 2, resumed: true });
  assert.match(again.summary, /already at 3 replicas, rollout complete/);

  const cleaned = await kubernetesDrill.cleanup!(params(), ctx);
  assert.deepEqual(cleaned.left, []);
  assert.match(cleaned.summary, /deleted namespace shop-drill; the API server no longer knows it/);
  assert.equal(api.namespaces.has('shop-drill'), false);
  assert.deepEqual([...api.objects.keys()].sort(), ['configmaps/shop/web-config', 'secrets/shop/web-tls']);
  await assert.rejects(
    apps.readNamespacedDeployment({ name: 'web', namespace: 'shop-drill' }),
    (e: { code?: number }) => e.code === 404,
  );
  assert.equal((await apps.readNamespacedDeployment({ name: 'web', namespace: 'shop' })).spec?.replicas, 2);
  const repeat = await kubernetesDrill.cleanup!(params(), ctx);
  assert.deepEqual(repeat, { summary: 'namespace shop-drill does not exist: nothing to delete', left: [] });
});

test('the fake API server refuses objects in a namespace that does not exist or is being terminated', async () => {
  await assert.rejects(
    apps.createNamespacedDeployment({ namespace: 'nowhere', body: deployment('nowhere', 'web', 1, {}) }),
    (e: { code?: number; body?: string }) =>
      e.code === 404 && /namespaces \\?"nowhere\\?" not found/.test(String(e.body)),
  );
  const ctx = afterDatabase('drill-k8s-2');
  await kubernetesDrill.rehearse(params({ drill: { namespace: 'web-rehearsal' } }), ctx);
  const cleanup = kubernetesDrill.cleanup!(params({ drill: { namespace: 'web-rehearsal' } }), ctx);
  await waitUntil(
    async () => api.namespaces.get('web-rehearsal')?.phase === 'Terminating',
    5000,
    'the drill namespace to be terminating',
  );
  await assert.rejects(
    apps.createNamespacedDeployment({
      namespace: 'web-rehearsal',
      body: deployment('web-rehearsal', 'api', 1, {}),
    }),
    (e: { code?: number; body?: string }) => e.code === 403 && /being terminated/.test(String(e.body)),
  );
  assert.deepEqual((await cleanup).left, []);
});

test('a copy that would reach the DR database, the live namespace or a namespace not the drill’s is refused; cleanup leaves such a namespace alone', async () => {
  const bare: DrillContext = { ...stepContext({ runId: 'drill-k8s-3' }), rehearsed: {} };
  await assert.rejects(
    kubernetesDrill.rehearse(params(), bare),
    /DATABASE_URL would reach the DR database and no database step made a scratch copy/,
  );
  assert.equal(api.namespaces.has('shop-drill'), false, 'nothing was made');
  await assert.rejects(
    kubernetesDrill.rehearse(params({ drill: { namespace: 'shop' } }), afterDatabase('drill-k8s-3')),
    /the drill namespace shop is the live namespace; set drill.namespace/,
  );
  await assert.rejects(
    kubernetesDrill.rehearse(params({ drill: { namespace: 'default' } }), afterDatabase('drill-k8s-3')),
    /namespace default already exists and is not this drill's/,
  );
  const left = await kubernetesDrill.cleanup!(params({ drill: { namespace: 'default' } }), bare);
  assert.deepEqual(left, { summary: "namespace default is not this drill's: left alone", left: [] });
  assert.equal(api.namespaces.get('default')?.phase, 'Active');
  await assert.rejects(
    kubernetesDrill.rehearse(params({ drill: { database_env: 'PG_URL' } }), afterDatabase('drill-k8s-3')),
    /no container sets PG_URL/,
  );
});
