import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../src/server/index.js';
import { siteDeps } from '../../src/server/deps.js';
import { SiteStateStore } from '../../src/lifecycle/index.js';
import { openDatabase } from '../../src/store/index.js';
import { DecisionLoop, OPERATE_TOKEN, READ_TOKEN, serverConfig } from './harness.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('/api/status and /metrics say which site serves, the site state, whether the old primary waits for its fence, and a pause an operate token set', async () => {
  const config = serverConfig();
  const loop = new DecisionLoop(config);
  const db = openDatabase(':memory:');
  const sites = new SiteStateStore(db);
  const server = await startServer({
    config,
    deps: {
      status: loop.recent,
      events: loop.recent,
      now: loop.now,
      site: siteDeps(sites, loop.now),
    },
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  const get = async (path: string) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
  try {
    let metrics = await (await get('/metrics')).text();
    assert.equal(sample(metrics, 'phoenix_active_site{site="primary"}'), 1);
    assert.equal(sample(metrics, 'phoenix_site_state{state="primary_active"}'), 1);
    assert.equal(sample(metrics, 'phoenix_fence_pending'), 0);

    const cause = { by: 'runbook:r1', reason: 'test' };
    await sites.apply({ type: 'run_started', runbook: 'dr_failover', run_id: 'r1' }, cause, 100);
    await sites.apply(
      {
        type: 'run_finished',
        runbook: 'dr_failover',
        run_id: 'r1',
        status: 'succeeded',
        fence: 'fence_pending',
      },
      cause,
      101,
    );
    await sites.apply({ type: 'fence_checked', reachable: true, writable: true }, cause, 102);
    metrics = await (await get('/metrics')).text();
    assert.equal(sample(metrics, 'phoenix_active_site{site="dr"}'), 1);
    assert.equal(sample(metrics, 'phoenix_active_site{site="primary"}'), 0);
    assert.equal(sample(metrics, 'phoenix_site_state{state="dr_active"}'), 1);
    assert.equal(sample(metrics, 'phoenix_fence_pending'), 1);
    assert.equal(sample(metrics, 'phoenix_old_primary_writable'), 1);

    const status = (await (await get('/api/status')).json()) as {
      site: { state: string; active_site: string; old_primary: { fence: string }; next_action: string };
    };
    assert.equal(status.site.state, 'dr_active');
    assert.equal(status.site.active_site, 'dr');
    assert.equal(status.site.old_primary.fence, 'fence_pending');
    assert.match(status.site.next_action, /writable: split-brain risk/);

    // A pause is for operate tokens; it shows on /api/status and /metrics.
    const pause = (token: string) =>
      fetch(`${server.url}/api/pause`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ for: '2h', reason: 'database maintenance' }),
      });
    assert.equal((await pause(READ_TOKEN)).status, 403);
    assert.equal((await pause(OPERATE_TOKEN)).status, 200);
    const paused = (await (await get('/api/status')).json()) as {
      site: { paused: { by: string; reason: string; until: number } };
    };
    assert.equal(paused.site.paused.by, 'oncall');
    assert.equal(paused.site.paused.reason, 'database maintenance');
    assert.equal(paused.site.paused.until, loop.now() + 7200);
    assert.equal(sample(await (await get('/metrics')).text(), 'phoenix_paused'), 1);
    const resumed = await fetch(`${server.url}/api/resume`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATE_TOKEN}` },
    });
    assert.equal(resumed.status, 200);
    assert.equal(sample(await (await get('/metrics')).text(), 'phoenix_paused'), 0);
  } finally {
    await server.close();
    db.close();
  }
});
