import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { OPERATE_TOKEN, READ_TOKEN } from './harness.js';
import { runbookWorld } from './runbook-world.js';

const read = { authorization: `Bearer ${READ_TOKEN}` };
const operate = { authorization: `Bearer ${OPERATE_TOKEN}` };

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('runbook runs through the API, on the real runbook engine', () => {
  let world: ReturnType<typeof runbookWorld>;
  let server: RunningServer;

  before(async () => {
    world = runbookWorld();
    server = await startServer({
      config: world.config,
      deps: { runs: world.runs },
      listen: { host: '127.0.0.1', port: 0 },
      processMetrics: false,
    });
  });
  after(async () => {
    await server?.close();
    world?.cleanup();
  });

  const getRun = async (id: string) =>
    (await fetch(`${server.url}/api/runs/${id}`, { headers: read })).json();

  test('a waiting stage shows as such, is approved by an operate token, and the run finishes', async () => {
    const handle = await world.engine.start('dr_failover', { trigger: 'test' });
    const waiting = await until(async () => {
      const run = await getRun(handle.runId);
      return run.status === 'waiting_approval' ? run : undefined;
    }, 'the approval gate');
    assert.deepEqual(
      waiting.stages.map((s: { name: string; status: string }) => [s.name, s.status]),
      [
        ['confirm', 'succeeded'],
        ['promote', 'waiting_approval'],
        ['verify', 'pending'],
      ],
    );
    const listed = await (await fetch(`${server.url}/api/runs`, { headers: read })).json();
    assert.equal(listed.runs[0].id, handle.runId);

    const denied = await fetch(`${server.url}/api/runs/${handle.runId}/approve`, {
      method: 'POST',
      headers: read,
    });
    assert.equal(denied.status, 403);
    assert.equal(existsSync(world.marker), false);

    const approved = await fetch(`${server.url}/api/runs/${handle.runId}/approve`, {
      method: 'POST',
      headers: operate,
    });
    assert.equal(approved.status, 200);
    const report = await handle.done;
    assert.equal(report.status, 'succeeded');
    assert.equal(existsSync(world.marker), true);
    const done = await getRun(handle.runId);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.stages[1].approved_by, 'oncall');
    assert.equal(done.stages[1].approval, true);

    const again = await fetch(`${server.url}/api/runs/${handle.runId}/approve`, {
      method: 'POST',
      headers: operate,
    });
    assert.equal(again.status, 409);
    assert.match((await again.json()).error, /already ended \(succeeded\)/);

    const metrics = await (await fetch(`${server.url}/metrics`, { headers: read })).text();
    assert.match(metrics, /phoenix_runbook_runs\{runbook="dr_failover",status="succeeded"\} 1/);
    assert.match(
      metrics,
      /phoenix_runbook_stage_duration_seconds_count\{runbook="dr_failover",stage="promote",status="succeeded"\} 1/,
    );
  });

  test('an abort stops a run waiting for approval', async () => {
    // The first test's run is minutes old: inside the cooldown, a second run needs an override.
    const handle = await world.engine.start('dr_failover', {
      trigger: 'test',
      overrideCooldown: 'test: second run',
    });
    await until(
      async () => ((await getRun(handle.runId)).status === 'waiting_approval' ? true : undefined),
      'the gate',
    );
    const aborted = await fetch(`${server.url}/api/runs/${handle.runId}/abort`, {
      method: 'POST',
      headers: operate,
    });
    assert.equal(aborted.status, 200);
    assert.equal((await aborted.json()).abort_requested_by, 'oncall');
    const report = await handle.done;
    assert.equal(report.status, 'aborted');
    assert.equal((await getRun(handle.runId)).status, 'aborted');
  });

  test('an unknown run is a 404 naming where to look', async () => {
    const response = await fetch(`${server.url}/api/runs/nope/approve`, { method: 'POST', headers: operate });
    assert.equal(response.status, 404);
    assert.match((await response.json()).error, /no run nope; list runs with GET \/api\/runs/);
    assert.equal((await fetch(`${server.url}/api/runs/nope`, { headers: read })).status, 404);
  });
});
