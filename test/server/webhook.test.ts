import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PhoenixConfig } from '../../src/config/index.js';
import {
  startServer,
  signBody,
  signedHeaders,
  type AlertmanagerPayload,
  type RunningServer,
} from '../../src/server/index.js';
import {
  DecisionLoop,
  serveLoop,
  OPERATE_TOKEN,
  READ_TOKEN,
  WEBHOOK_SECRET,
  WEBHOOK_TOKEN,
  serverConfig,
  snapshot,
} from './harness.js';
import { SeenSignatureStore, SqliteSql } from '../../src/store/index.js';

/** A server whose replay guard keeps the signatures in `db`, as controllers sharing a store do. */
function serveWithStore(config: PhoenixConfig, loop: DecisionLoop, db: SqliteSql, now = loop.now) {
  return startServer({
    config,
    deps: {
      status: loop.recent,
      events: loop.recent,
      trigger: loop,
      now,
      signatures: new SeenSignatureStore(db),
    },
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
}

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
  let config: PhoenixConfig;

  before(async () => {
    config = serverConfig({
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

  async function post(body: string, signature?: string, timestamp = loop.clock) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signature !== undefined) {
      headers['x-phoenix-signature'] = signature;
      headers['x-phoenix-timestamp'] = String(timestamp);
    }
    const response = await fetch(`${server.url}/api/webhooks/alertmanager`, {
      method: 'POST',
      headers,
      body,
    });
    return { status: response.status, body: await response.json() };
  }
  const signed = (value: unknown) => {
    const body = JSON.stringify(value);
    return post(body, signBody(WEBHOOK_SECRET, body, loop.clock));
  };

  test('a firing alert for the watched system runs a cycle at once', async () => {
    const before = loop.reasons.length;
    loop.next = snapshot({ internal_services: 'error' });
    const response = await signed(payload([alert('a1', 'firing', { system: 'shop' })]));
    assert.equal(response.status, 202);
    assert.deepEqual(response.body.accepted, ['a1']);
    assert.equal(response.body.triggered, true);
    await loop.idle();
    assert.equal(loop.reasons.length, before + 1);
    assert.match(loop.reasons.at(-1)!, /^alertmanager: CheckoutDown firing/);
    assert.equal(loop.recent.latest()!.score.score, 5);
  });

  test('the same alert re-sent is coalesced; resolved and foreign alerts are ignored', async () => {
    const before = loop.reasons.length;
    loop.clock += 1; // a re-send is signed anew
    const again = await signed(payload([alert('a1', 'firing', { system: 'shop' })]));
    assert.deepEqual(again.body, { accepted: [], duplicates: ['a1'], ignored: 0, triggered: false });
    const others = await signed(
      payload([alert('b1', 'resolved', { system: 'shop' }), alert('c1', 'firing', { system: 'billing' })]),
    );
    assert.deepEqual(others.body, { accepted: [], duplicates: [], ignored: 2, triggered: false });
    await loop.idle();
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
    await loop.idle();
    assert.equal(loop.reasons.length, before + 1);
  });

  test('the dedup window expires', async () => {
    loop.clock += 301;
    const before = loop.reasons.length;
    const again = await signed(payload([alert('a1', 'firing', { system: 'shop' })]));
    assert.deepEqual(again.body.accepted, ['a1']);
    assert.equal(again.body.triggered, true);
    await loop.idle();
    assert.equal(loop.reasons.length, before + 1);
  });

  test('a missing or wrong signature is refused before the body is read', async () => {
    const body = JSON.stringify(payload([alert('e1', 'firing', { system: 'shop' })]));
    const missing = await post(body);
    assert.equal(missing.status, 401);
    assert.match(missing.body.error, /missing x-phoenix-signature/);
    const wrong = await post(body, signBody('another-secret-of-20-chars', body, loop.clock));
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.error, /does not match the timestamp and body/);
    const tampered = await post(body.replace('e1', 'e2'), signBody(WEBHOOK_SECRET, body, loop.clock));
    assert.equal(tampered.status, 401);
  });

  test('a malformed payload gets a 400 naming what is wrong', async () => {
    const notJson = await post('{"version": "4",', signBody(WEBHOOK_SECRET, '{"version": "4",', loop.clock));
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

  test('a signed request is accepted once: a replay, and one signed outside the window, are refused', async () => {
    loop.clock += 400;
    const body = JSON.stringify(payload([alert('r1', 'firing', { system: 'shop' })]));
    const signature = signBody(WEBHOOK_SECRET, body, loop.clock);
    assert.equal((await post(body, signature)).status, 202);
    const replayed = await post(body, signature);
    assert.equal(replayed.status, 409);
    assert.match(replayed.body.error, /accepted before/);
    // The timestamp ends the capture's life.
    loop.clock += 301;
    const late = await post(body, signature, loop.clock - 301);
    assert.equal(late.status, 401);
    assert.match(late.body.error, /301 s from the controller's clock \(allowed: 300 s\)/);
    const resigned = await post(body, signBody(WEBHOOK_SECRET, body, loop.clock - 301), loop.clock);
    assert.equal(resigned.status, 401, 'the timestamp header is covered by the signature');
    await loop.idle();
  });

  test('after a restart, a request signed before it is refused; one signed anew is accepted', async () => {
    loop.clock += 20;
    const body = JSON.stringify(payload([alert('restart-1', 'firing', { system: 'shop' })]));
    const captured = signBody(WEBHOOK_SECRET, body, loop.clock);
    assert.equal((await post(body, captured)).status, 202);
    await loop.idle();
    await server.close();
    loop.clock += 5; // restarted well inside the replay window
    server = await startServer({
      config,
      deps: { status: loop.recent, events: loop.recent, trigger: loop, now: loop.now },
      listen: { host: '127.0.0.1', port: 0 },
      processMetrics: false,
    });
    const replayed = await post(body, captured, loop.clock - 5);
    assert.equal(replayed.status, 409);
    assert.match(replayed.body.error, /before this controller started/);
    const fresh = await post(body, signBody(WEBHOOK_SECRET, body, loop.clock));
    assert.equal(fresh.status, 202);
    await loop.idle();
  });

  test('a request signed a few seconds ahead is accepted once, across a restart too: the store keeps the signatures seen', async () => {
    const db = SqliteSql.open(':memory:');
    const restart = async () => {
      await server.close();
      server = await serveWithStore(config, loop, db);
    };
    try {
      await restart();
      loop.clock += 20;
      const body = JSON.stringify(payload([alert('ahead-1', 'firing', { system: 'shop' })]));
      const ahead = loop.clock + 4;
      const captured = signBody(WEBHOOK_SECRET, body, ahead);
      assert.equal((await post(body, captured, ahead)).status, 202);
      await loop.idle();
      loop.clock += 1; // restarted before the request's own timestamp
      await restart();
      const replayed = await post(body, captured, ahead);
      assert.equal(replayed.status, 409, JSON.stringify(replayed.body));
      assert.match(replayed.body.error, /accepted before/);
      const farAhead = loop.clock + 60;
      const early = await post(body, signBody(WEBHOOK_SECRET, body, farAhead), farAhead);
      assert.equal(early.status, 401);
      assert.match(early.body.error, /60 s ahead of the controller's clock \(allowed: 5 s\)/);
    } finally {
      await db.close();
    }
  });
});

describe('Alertmanager webhook credentials', () => {
  let server: RunningServer;
  let loop: DecisionLoop;

  before(async () => {
    const config = serverConfig({ webhook: { secret: '${PHX_TEST_SECRET}' } });
    loop = new DecisionLoop(config);
    server = await serveLoop(config, loop);
  });
  after(async () => {
    await server?.close();
  });

  const send = (path: string, headers: Record<string, string>, body?: string) =>
    fetch(`${server.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body,
    });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  test('a webhook token may post alerts and nothing else; a read token may not post', async () => {
    const body = JSON.stringify(payload([alert('w1', 'firing', {})]));
    const hook = await send('/api/webhooks/alertmanager', bearer(WEBHOOK_TOKEN), body);
    assert.equal(hook.status, 202);
    assert.equal((await hook.json()).triggered, true);
    await loop.idle();
    assert.equal((await send('/api/status', bearer(WEBHOOK_TOKEN))).status, 403);
    assert.equal((await send('/api/cycle', bearer(WEBHOOK_TOKEN), '{}')).status, 403);
    const denied = await send('/api/webhooks/alertmanager', bearer(READ_TOKEN), body);
    assert.equal(denied.status, 403);
    assert.match((await denied.json()).error, /has the read role; this needs webhook or operate/);
    assert.equal((await send('/api/webhooks/alertmanager', bearer(OPERATE_TOKEN), body)).status, 202);
  });

  test('failed requests from a shared address cannot lock out the genuine sender', async () => {
    loop.clock += 60;
    const body = JSON.stringify(payload([alert('x1', 'firing', {})]));
    const forged: number[] = [];
    for (let i = 0; i < 30; i++)
      forged.push(
        (
          await send(
            '/api/webhooks/alertmanager',
            signedHeaders('forged-secret-0123456789', body, loop.clock),
            body,
          )
        ).status,
      );
    assert.deepEqual(
      [...new Set(forged)],
      [401, 429],
      'failures are answered 401, then 429 once their bucket is spent',
    );
    const genuine = await send(
      '/api/webhooks/alertmanager',
      signedHeaders(WEBHOOK_SECRET, body, loop.clock),
      body,
    );
    assert.equal(genuine.status, 202);
    const other = JSON.stringify(payload([alert('x2', 'firing', {})]));
    assert.equal((await send('/api/webhooks/alertmanager', bearer(WEBHOOK_TOKEN), other)).status, 202);
    await loop.idle();
  });
});

test('40 wrong tokens end in 429 while a valid token still gets through', async () => {
  const config = serverConfig();
  const server = await startServer({
    config,
    deps: {},
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  try {
    const send = (token: string) =>
      fetch(`${server.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await send(`wrong-token-${i}-0123456789`)).status);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
    assert.deepEqual(statuses.slice(20), Array(20).fill(429));
    const limited = await send('wrong-token-again-0123456789');
    assert.ok(Number(limited.headers.get('retry-after')) > 0, 'Retry-After says when to try again');
    assert.equal((await send(READ_TOKEN)).status, 200);
  } finally {
    await server.close();
  }
});

describe('Alertmanager webhook without a secret', () => {
  test('needs a webhook or operate token', async () => {
    const config = serverConfig();
    const loop = new DecisionLoop(config);
    const server = await serveLoop(config, loop);
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

test('behind a trusted proxy, failures count per client address; without trust_proxy the header is ignored', async () => {
  const wrong = (url: string, client: string) =>
    fetch(`${url}/api/whoami`, {
      headers: { authorization: 'Bearer wrong-token-0123456789', 'x-forwarded-for': client },
    });
  const burn = async (url: string, client: string) => {
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await wrong(url, client)).status);
    return statuses.at(-1);
  };
  const behindIngress = await startServer({
    config: serverConfig({ trust_proxy: ['127.0.0.1/32'] }),
    deps: {},
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  const direct = await startServer({
    config: serverConfig(),
    deps: {},
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  try {
    assert.equal(await burn(behindIngress.url, '203.0.113.7'), 429);
    assert.equal(
      (await wrong(behindIngress.url, '203.0.113.8')).status,
      401,
      'another client has its own bucket',
    );
    // Not trusted: a client cannot pick a fresh bucket by sending a new X-Forwarded-For each time.
    assert.equal(await burn(direct.url, '203.0.113.7'), 429);
    assert.equal((await wrong(direct.url, '203.0.113.8')).status, 429);
  } finally {
    await behindIngress.close();
    await direct.close();
  }
});

// Two controllers share the store (HA). Their clocks differ by a few seconds (one's NTP lagging): the one
// ahead forgets a signature by its own clock while the one behind still accepts the request's timestamp.
test('a signed request accepted by one controller is refused by another sharing the store, even when their clocks differ by seconds', async () => {
  const config = serverConfig({ webhook: { secret: '${PHX_TEST_SECRET}', match: { system: 'shop' } } });
  const loop = new DecisionLoop(config);
  await loop.cycle();
  const db = SqliteSql.open(':memory:');
  let real = loop.clock;
  const SKEW_S = 10;
  const start = (now: () => number) => serveWithStore(config, loop, db, now);
  const a = await start(() => real);
  const b = await start(() => real - SKEW_S);
  const post = async (server: RunningServer, body: string, signedAt: number, signature?: string) => {
    const response = await fetch(`${server.url}/api/webhooks/alertmanager`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-phoenix-timestamp': String(signedAt),
        'x-phoenix-signature': signature ?? signBody(WEBHOOK_SECRET, body, signedAt),
      },
      body,
    });
    return { status: response.status, body: (await response.json()) as { error?: string } };
  };
  try {
    const body = JSON.stringify(payload([alert('skew-1', 'firing', { system: 'shop' })]));
    const signedAt = real;
    const captured = signBody(WEBHOOK_SECRET, body, signedAt);
    assert.equal((await post(a, body, signedAt, captured)).status, 202);
    real = signedAt + SKEW_S; // once B's clock has reached the timestamp (before, it is too far ahead for B)
    assert.equal((await post(b, body, signedAt, captured)).status, 409, 'replayed to the twin');
    await loop.idle();

    // Later, A accepts another request (its write forgets what is old by A's clock) ...
    real = signedAt + 307;
    const other = JSON.stringify(payload([alert('skew-2', 'firing', { system: 'shop' })]));
    assert.equal((await post(a, other, real)).status, 202);
    await loop.idle();
    // ... while B, 10 s behind, still finds the captured timestamp inside its 300 s window.
    const replayed = await post(b, body, signedAt, captured);
    assert.equal(replayed.status, 409, `the twin accepted a replay: ${JSON.stringify(replayed.body)}`);
    await loop.idle();
  } finally {
    await a.close();
    await b.close();
    await db.close();
  }
});

test('at the window end a signed request is accepted once; the same signature in capitals is the same request', async () => {
  const config = serverConfig({ webhook: { secret: '${PHX_TEST_SECRET}', match: { system: 'shop' } } });
  const loop = new DecisionLoop(config);
  await loop.cycle();
  const db = SqliteSql.open(':memory:');
  const server = await serveWithStore(config, loop, db);
  const post = async (body: string, signedAt: number, signature: string) =>
    (
      await fetch(`${server.url}/api/webhooks/alertmanager`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-phoenix-timestamp': String(signedAt),
          'x-phoenix-signature': signature,
        },
        body,
      })
    ).status;
  try {
    const body = JSON.stringify(payload([alert('edge-1', 'firing', { system: 'shop' })]));
    const signedAt = loop.clock - 300;
    const signature = signBody(WEBHOOK_SECRET, body, signedAt);
    assert.equal(await post(body, signedAt, signature), 202, 'exactly 300 s old is inside the window');
    await loop.idle();
    assert.equal(await post(body, signedAt, signature), 409);
    assert.equal(await post(body, signedAt, 'sha256=' + signature.slice(7).toUpperCase()), 409);
    loop.clock += 1;
    assert.equal(await post(body, signedAt, signature), 401, '301 s old is outside');
  } finally {
    await server.close();
    await db.close();
  }
});
