import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  signBody,
  type AlertmanagerPayload,
  type RunningServer,
} from '../../src/server/index.js';
import {
  DecisionLoop,
  OPERATE_TOKEN,
  READ_TOKEN,
  WEBHOOK_SECRET,
  serverConfig,
  snapshot,
} from './harness.js';

function alert(fingerprint: string, status: 'firing' | 'resolved', labels: Record<string, string>) {
  return {
    status,
    labels: { alertname: 'CheckoutDown', ...labels },
    annotations: { summary: 'checkout is failing' },
    startsAt: '2027-01-15T10:00:00Z',
    endsAt: status === 'resolved' ? '2027-01-15T10:05:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example/graph?g0.expr=up',
    fingerprint,
  };
}

function payload(alerts: ReturnType<typeof alert>[]): AlertmanagerPayload {
  return {
    version: '4',
    groupKey: '{}/{system="shop"}:{alertname="CheckoutDown"}',
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'phoenix',
    groupLabels: { alertname: 'CheckoutDown' },
    commonLabels: { alertname: 'CheckoutDown', system: 'shop' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example',
    alerts,
  };
}

describe('Alertmanager webhook with an HMAC secret', () => {
  let server: RunningServer;
  let loop: DecisionLoop;

  before(async () => {
    const config = serverConfig({
      webhook: { secret: '${PHX_TEST_SECRET}', match: { system: 'shop' }, dedup_window: '5m' },
    });
    loop = new DecisionLoop(config);
    await loop.cycle();
    server = await startServer({
      config,
      deps: { status: loop.recent, events: loop.recent, trigger: loop, now: loop.now },
      listen: { host: '127.0.0.1', port: 0 },
      processMetrics: false,
    });
  });
  after(async () => {
    await server?.close();
  });

  async function post(body: string, signature?: string) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signature !== undefined) headers['x-phoenix-signature'] = signature;
    const response = await fetch(`${server.url}/api/webhooks/alertmanager`, {
      method: 'POST',
      headers,
      body,
    });
    return { status: response.status, body: await response.json() };
  }
  const signed = (value: unknown) => {
    const body = JSON.stringify(value);
    return post(body, signBody(WEBHOOK_SECRET, body));
  };
  const settle = () => new Promise((r) => setTimeout(r, 30));

  test('a firing alert for the watched system runs a cycle at once', async () => {
    const before = loop.reasons.length;
    loop.next = snapshot({ internal_services: 'error' });
    const response = await signed(payload([alert('a1', 'firing', { system: 'shop' })]));
    assert.equal(response.status, 202);
    assert.deepEqual(response.body.accepted, ['a1']);
    assert.equal(response.body.triggered, true);
    await settle();
    assert.equal(loop.reasons.length, before + 1);
    assert.match(loop.reasons.at(-1)!, /^alertmanager: CheckoutDown firing/);
    assert.equal(loop.recent.latest()!.score.score, 5);
  });

  test('the same alert re-sent is coalesced; resolved and foreign alerts are ignored', async () => {
    const before = loop.reasons.length;
    const again = await signed(payload([alert('a1', 'firing', { system: 'shop' })]));
    assert.deepEqual(again.body, { accepted: [], duplicates: ['a1'], ignored: 0, triggered: false });
    const others = await signed(
      payload([alert('b1', 'resolved', { system: 'shop' }), alert('c1', 'firing', { system: 'billing' })]),
    );
    assert.deepEqual(others.body, { accepted: [], duplicates: [], ignored: 2, triggered: false });
    await settle();
    assert.equal(loop.reasons.length, before);
  });

  test('two new alerts at once start one cycle', async () => {
    loop.clock += 11; // past the first test's cycle
    const before = loop.reasons.length;
    const results = await Promise.all([
      signed(payload([alert('d1', 'firing', { system: 'shop' })])),
      signed(payload([alert('d2', 'firing', { system: 'shop' })])),
    ]);
    assert.deepEqual(
      results.map((r) => [r.body.accepted.length, Boolean(r.body.triggered || r.body.coalesced)]),
      [
        [1, true],
        [1, true],
      ],
    );
    assert.equal(results.filter((r) => r.body.triggered).length, 1);
    await settle();
    assert.equal(loop.reasons.length, before + 1);
  });

  test('the dedup window expires', async () => {
    loop.clock += 301;
    const before = loop.reasons.length;
    const again = await signed(payload([alert('a1', 'firing', { system: 'shop' })]));
    assert.deepEqual(again.body.accepted, ['a1']);
    assert.equal(again.body.triggered, true);
    await settle();
    assert.equal(loop.reasons.length, before + 1);
  });

  test('a missing or wrong signature is refused before the body is read', async () => {
    const body = JSON.stringify(payload([alert('e1', 'firing', { system: 'shop' })]));
    const missing = await post(body);
    assert.equal(missing.status, 401);
    assert.match(missing.body.error, /missing x-phoenix-signature/);
    const wrong = await post(body, signBody('another-secret-of-20-chars', body));
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.error, /does not match the body/);
    const tampered = await post(body.replace('e1', 'e2'), signBody(WEBHOOK_SECRET, body));
    assert.equal(tampered.status, 401);
  });

  test('a malformed payload gets a 400 naming what is wrong', async () => {
    const notJson = await post('{"version": "4",', signBody(WEBHOOK_SECRET, '{"version": "4",'));
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.error, /not valid JSON/);
    const v3 = { ...payload([alert('f1', 'firing', {})]), version: '3' };
    const old = await signed(v3);
    assert.equal(old.status, 400);
    assert.match(old.body.error, /version: version must be "4"/);
    const broken = payload([alert('f1', 'firing', {})]) as unknown as {
      alerts: Array<Record<string, unknown>>;
    };
    delete broken.alerts[0].fingerprint;
    broken.alerts[0].status = 'burning';
    const bad = await signed(broken);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /alerts\.0\.status/);
    assert.match(bad.body.error, /alerts\.0\.fingerprint/);
  });
});

describe('Alertmanager webhook without a secret', () => {
  test('needs an operate token', async () => {
    const config = serverConfig();
    const loop = new DecisionLoop(config);
    const server = await startServer({
      config,
      deps: { status: loop.recent, trigger: loop, now: loop.now },
      listen: { host: '127.0.0.1', port: 0 },
      processMetrics: false,
    });
    try {
      const body = JSON.stringify(payload([alert('g1', 'firing', {})]));
      const send = (token?: string) =>
        fetch(`${server.url}/api/webhooks/alertmanager`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body,
        });
      assert.equal((await send()).status, 401);
      assert.equal((await send(READ_TOKEN)).status, 403);
      const ok = await send(OPERATE_TOKEN);
      assert.equal(ok.status, 202);
      assert.equal((await ok.json()).triggered, true);
    } finally {
      await server.close();
    }
  });
});
