import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startServer, signedHeaders, type RunningServer } from '../../src/server/index.js';
import { DecisionLoop, OPERATE_TOKEN, READ_TOKEN, serverConfig, snapshot } from './harness.js';

const read = { authorization: `Bearer ${READ_TOKEN}` };
const operate = { authorization: `Bearer ${OPERATE_TOKEN}` };

describe('HTTP API over a real decision loop', () => {
  let server: RunningServer;
  let loop: DecisionLoop;
  const logLines: string[] = [];

  before(async () => {
    // No cooldown: the loop decides DR on every bad cycle, so each decision is visible in the API.
    const config = serverConfig({ rate_limit: { max: 5, window: '1m' } }, { decision: { cooldown: 0 } });
    loop = new DecisionLoop(config);
    // Ten quiet cycles, then three with the primary cloud failing.
    for (let i = 0; i < 10; i++, loop.clock += 30) await loop.cycle();
    loop.next = snapshot({
      eks_nodes: 'error',
      cross_cloud: 'error',
      internal_services: 'error',
      dr_site: 'degraded',
    });
    for (let i = 0; i < 3; i++, loop.clock += 30) await loop.cycle();
    loop.clock -= 30;
    server = await startServer({
      config,
      deps: { status: loop.recent, events: loop.recent, trigger: loop, now: loop.now },
      listen: { host: '127.0.0.1', port: 0 },
      processMetrics: false,
      logger: {
        level: 'trace',
        stream: new Writable({
          write(chunk, _enc, done) {
            logLines.push(String(chunk));
            done();
          },
        }),
      },
    });
  });
  after(async () => {
    await server?.close();
  });

  test('liveness needs no token; the API refuses a request without one', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const response = await fetch(`${server.url}/api/status`);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    assert.match((await response.json()).error, /bearer token with the read role/);
    const wrong = await fetch(`${server.url}/api/status`, {
      headers: { authorization: 'Bearer not-a-token-at-all' },
    });
    assert.equal(wrong.status, 401);
  });

  test('readiness follows the age of the last cycle', async () => {
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    loop.clock += 91; // three 30 s intervals and a second
    const stale = await fetch(`${server.url}/readyz`);
    assert.equal(stale.status, 503);
    assert.match((await stale.json()).reasons[0], /stale after 90 s/);
    loop.clock -= 91;
  });

  test('status shows the last score, level, decision and DR readiness', async () => {
    const response = await fetch(`${server.url}/api/status`, { headers: read });
    assert.equal(response.status, 200);
    const status = await response.json();
    assert.equal(status.latest.score, 13);
    assert.equal(status.latest.level, 'dr_failover');
    assert.equal(status.latest.decision.action, 'dr_failover');
    assert.equal(status.stale, false);
    assert.deepEqual(status.dr_readiness, {
      ready: false,
      reasons: ['dr_site is degraded: dr_site probe'],
      source: 'signal',
    });
  });

  test('history returns every cycle since the given time, oldest first, with each signal', async () => {
    const all = await (await fetch(`${server.url}/api/history?since=1h`, { headers: read })).json();
    assert.equal(all.points.length, 13);
    assert.deepEqual(
      all.points.map((p: { score: number }) => p.score),
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13, 13, 13],
    );
    assert.deepEqual(all.points[12].signals.eks_nodes, { status: 'error', weight: 4 });
    const since = all.points[11].at;
    const recent = await (await fetch(`${server.url}/api/history?since=${since}`, { headers: read })).json();
    assert.equal(recent.points.length, 2);
    const bad = await fetch(`${server.url}/api/history?since=yesterday`, { headers: read });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /since must be Unix seconds or a duration/);
  });

  test('decisions come newest first with the analysis behind them', async () => {
    const body = await (await fetch(`${server.url}/api/decisions?limit=4`, { headers: read })).json();
    assert.equal(body.decisions.length, 4);
    assert.deepEqual(
      body.decisions.map((d: { action: string }) => d.action),
      ['dr_failover', 'dr_failover', 'dr_failover', 'none'],
    );
    assert.equal(body.decisions[0].analysis.analyzer, 'threshold');
    assert.ok(body.decisions[0].analysis.evidence.length > 0);
  });

  test('a read token cannot change state; an operate token can', async () => {
    const change = { kind: 'deploy', service: 'checkout', description: 'release 4.2' };
    const denied = await fetch(`${server.url}/api/cycle`, { method: 'POST', headers: read });
    assert.equal(denied.status, 403);
    assert.match((await denied.json()).error, /token "grafana" has the read role; this needs operate/);
    const before = loop.reasons.length;
    const cycled = loop.nextCycle(/^api: requested by oncall$/);
    const allowed = await fetch(`${server.url}/api/cycle`, { method: 'POST', headers: operate });
    assert.equal(allowed.status, 202);
    await cycled;
    assert.equal(loop.reasons.length, before + 1);
    // No change log attached in this process: the route says so rather than pretending.
    const noChanges = await fetch(`${server.url}/api/changes`, {
      method: 'POST',
      headers: { ...operate, 'content-type': 'application/json' },
      body: JSON.stringify(change),
    });
    assert.equal(noChanges.status, 503);
    assert.match((await noChanges.json()).error, /change log is not available/);
  });

  test('CORS is closed unless an origin is listed', async () => {
    const preflight = await fetch(`${server.url}/api/status`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    const get = await fetch(`${server.url}/api/status`, {
      headers: { ...read, origin: 'https://evil.example' },
    });
    assert.equal(get.headers.get('access-control-allow-origin'), null);
  });

  test('mutating endpoints are rate limited per token', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const response = await fetch(`${server.url}/api/runs/none/abort`, { method: 'POST', headers: operate });
      statuses.push(response.status);
    }
    assert.ok(
      statuses.slice(0, 4).every((s) => s !== 429),
      `first requests limited: ${statuses}`,
    );
    assert.equal(statuses.at(-1), 429);
    // Reads are not limited.
    assert.equal((await fetch(`${server.url}/api/status`, { headers: read })).status, 200);
  });

  test('tokens and signatures never reach the log', async () => {
    await fetch(`${server.url}/api/status`, { headers: { authorization: `Bearer ${READ_TOKEN}x` } });
    await fetch(`${server.url}/api/webhooks/alertmanager`, {
      method: 'POST',
      headers: {
        ...operate,
        ...signedHeaders('x'.repeat(20), '{}'),
        'content-type': 'application/json',
      },
      body: '{}',
    });
    const log = logLines.join('');
    assert.ok(log.includes('"url":"/api/status"'), 'requests are logged');
    assert.ok(!log.includes(READ_TOKEN), 'read token logged');
    assert.ok(!log.includes(OPERATE_TOKEN), 'operate token logged');
    assert.ok(!log.includes('sha256='), 'signature logged');
  });
});

describe('server configuration', () => {
  test('listed CORS origins are allowed and others are not', async () => {
    const config = serverConfig({ cors: { origins: ['https://ops.example.com'] } });
    const loop = new DecisionLoop(config);
    const server = await startServer({
      config,
      deps: { status: loop.recent, now: loop.now },
      listen: { host: '127.0.0.1', port: 0 },
      processMetrics: false,
    });
    try {
      const ok = await fetch(`${server.url}/api/status`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://ops.example.com',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      });
      assert.equal(ok.headers.get('access-control-allow-origin'), 'https://ops.example.com');
      const other = await fetch(`${server.url}/api/status`, {
        method: 'OPTIONS',
        headers: { origin: 'https://other.example.com', 'access-control-request-method': 'GET' },
      });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    } finally {
      await server.close();
    }
  });

  test('a short token and an unknown key are configuration errors naming the fix', async () => {
    assert.throws(
      () => serverConfig({ tokens: [{ name: 'x', token: 'short', role: 'read' }] }),
      /at least 16 characters/,
    );
    assert.throws(
      () => serverConfig({ listen_on: '1.2.3.4:1' }),
      /unknown key "listen_on"; did you mean "listen"/,
    );
    assert.throws(() => serverConfig({ listen: 'localhost' }), /write host:port/);
  });

  test('a port in use is reported with the fix', async () => {
    const config = serverConfig();
    const first = await startServer({
      config,
      deps: {},
      listen: { host: '127.0.0.1', port: 0 },
      processMetrics: false,
    });
    try {
      await assert.rejects(
        startServer({
          config,
          deps: {},
          listen: { host: '127.0.0.1', port: first.port },
          processMetrics: false,
        }),
        /port is in use; change server.listen/,
      );
    } finally {
      await first.close();
    }
  });
});
