import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fenceAdapter } from '../fence/fence.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { FakeDeploymentApi } from '../../stand-ins/kubernetes/apiserver.js';
import { kubernetesAdapter } from './kubernetes.js';

let api: FakeDeploymentApi;
let kubeconfig: string;

before(async () => {
  api = await new FakeDeploymentApi([
    { namespace: 'shop', name: 'web', replicas: 3 },
    { namespace: 'shop', name: 'old-primary-app', replicas: 4 },
  ]).start();
  kubeconfig = join(mkdtempSync(join(tmpdir(), 'phoenix-kube-')), 'config');
  writeFileSync(kubeconfig, api.kubeconfig('dr-aks'));
});

after(() => api.stop());

// The client refuses plain HTTP unless TLS checks are off; the fake is plain HTTP on loopback.
test('scale sets the replica count through the scale subresource and waits for the rollout; a repeat is a no-op', async () => {
  const params = kubernetesAdapter.schema.parse({
    action: 'scale',
    namespace: 'shop',
    deployment: 'web',
    replicas: 6,
    cluster: { kubeconfig, context: 'dr-aks' },
    poll_interval: 0.05,
  });
  const checks = await kubernetesAdapter.preflight(params, preflightContext());
  assert.deepEqual(
    checks.map((c) => c.ok),
    [true, true],
  );
  const ctx = stepContext();
  const result = await kubernetesAdapter.run(params, ctx);
  assert.match(result.summary, /scaled from 3 to 6 replicas, rollout complete/);
  assert.equal(result.output?.available, 6);
  assert.ok(
    ctx.messages.some((m) => /updated/.test(m)),
    'it waited for the rollout',
  );
  assert.ok(api.requests.some((r) => r.method === 'PUT' && r.path.endsWith('/deployments/web/scale')));
  const again = await kubernetesAdapter.run(params, ctx);
  assert.match(again.summary, /already at 6 replicas/);
});

test('restart rolls the pods once per step, even when the step is resumed', async () => {
  const params = kubernetesAdapter.schema.parse({
    action: 'restart',
    namespace: 'shop',
    deployment: 'web',
    cluster: { server: api.url, token: api.bearer, insecure_skip_tls_verify: true },
    poll_interval: 0.05,
  });
  const ctx = stepContext({ runId: 'run-1', step: 'restart-web' });
  const result = await kubernetesAdapter.run(params, ctx);
  assert.match(result.summary, /restarted its pods, rollout complete/);
  const patch = api.requests.find((r) => r.method === 'PATCH');
  assert.equal(patch?.contentType, 'application/merge-patch+json');
  assert.ok(api.state('shop', 'web')!.annotations['kubectl.kubernetes.io/restartedAt']);
  await kubernetesAdapter.run(params, { ...ctx, attempt: 2, resumed: true });
  assert.equal(api.state('shop', 'web')!.restarts, 1);
});

test('fence scales the old primary app to zero; a missing deployment or wrong token is a clear error', async () => {
  const fence = fenceAdapter.schema.parse({
    app: {
      action: 'scale',
      namespace: 'shop',
      deployment: 'old-primary-app',
      replicas: 0,
      cluster: { server: api.url, token: api.bearer, insecure_skip_tls_verify: true },
      poll_interval: 0.05,
    },
  });
  const result = await fenceAdapter.run(fence, stepContext());
  assert.equal(result.summary, 'fence: held: app_scaled_to_zero');
  const layers = (result.output as { layers: Array<{ layer: string; ok: boolean; detail?: string }> }).layers;
  assert.match(
    String(layers.find((l) => l.layer === 'app_scaled_to_zero')?.detail),
    /scaled from 4 to 0 replicas/,
  );
  assert.equal(api.state('shop', 'old-primary-app')!.replicas, 0);
  const missing = kubernetesAdapter.schema.parse({
    action: 'scale',
    namespace: 'shop',
    deployment: 'nope',
    replicas: 1,
    cluster: { server: api.url, token: api.bearer, insecure_skip_tls_verify: true },
  });
  await assert.rejects(
    kubernetesAdapter.run(missing, stepContext()),
    /reading deployment shop\/nope failed: HTTP 404: deployments.apps "nope" not found/,
  );
  const checks = await kubernetesAdapter.preflight(
    { ...missing, cluster: { ...missing.cluster, token: 'wrong' } },
    preflightContext(),
  );
  assert.equal(checks.at(-1)!.ok, false);
  assert.match(checks.at(-1)!.detail, /HTTP 401/);
});
