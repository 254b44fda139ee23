import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDeploymentApi } from '../../src/stand-ins/kubernetes/apiserver.js';
import { parseConfig } from '../../src/config/index.js';
import { waitUntil } from '../../src/lab/index.js';
import { drillCleanupOf, RunbookEngine } from '../../src/runbook/index.js';
import { FencedError, openDatabase } from '../../src/store/index.js';

test('a controller fenced out during a drill cleanup writes no cleanup result; the next leader resumes the drill and cleans up', async () => {
  // Slow namespace deletion: the lead is lost while the cleanup waits for the namespace to go.
  const api = await new FakeDeploymentApi([{ namespace: 'shop', name: 'web', replicas: 2 }], 1500).start();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-drill-fence-'));
    const config = parseConfig({
      store: { path: join(dir, 'phoenix.db') },
      topology: { primary: { cloud: 'aws' }, dr: { cloud: 'azure', rpo_budget_s: 300 } },
      runbooks: {
        dr_failover: {
          stages: [
            {
              name: 'app',
              steps: [
                {
                  name: 'scale-web',
                  type: 'kubernetes',
                  params: {
                    action: 'scale',
                    namespace: 'shop',
                    deployment: 'web',
                    replicas: 3,
                    wait: false,
                    cluster: { server: api.url, token: api.bearer, insecure_skip_tls_verify: true },
                    poll_interval: 0.05,
                    drill: { database_env: false },
                  },
                },
              ],
            },
          ],
        },
      },
    });
    let token = 1;
    let leading = true;
    const fence = async () => {
      if (!leading) throw new FencedError(`fencing token ${token} is no longer the lease's`);
      return token;
    };
    const db = openDatabase(config.store.path);
    const first = new RunbookEngine({ db, config, pollMs: 50, fence });
    const handle = await first.start('dr_failover', { trigger: 'drill' });
    await waitUntil(
      () => api.requests.some((r) => r.method === 'DELETE' && r.path === '/api/v1/namespaces/shop-drill'),
      20_000,
      'the drill cleanup to delete its namespace',
    );
    leading = false;
    const fencedOut = await handle.done;
    assert.equal(fencedOut.status, 'running', 'the fenced-out controller did not finish the run');
    const pending = await drillCleanupOf(first.journal.db, handle.runId);
    assert.deepEqual(
      pending.steps.map((s) => `${s.step} ${s.status}`),
      ['scale-web pending'],
      'no cleanup result was written without the lease',
    );

    token = 2;
    leading = true;
    const next = new RunbookEngine({ db: openDatabase(config.store.path), config, pollMs: 50, fence });
    const report = await (await next.resume(handle.runId)).done;
    assert.equal(report.status, 'succeeded');
    assert.equal(report.cleanup?.status, 'succeeded', JSON.stringify(report.cleanup));
    assert.equal(api.namespaces.has('shop-drill'), false);
    assert.equal(api.state('shop', 'web')?.replicas, 2, 'the live deployment is untouched');
  } finally {
    await api.stop();
  }
});
