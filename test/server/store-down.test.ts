import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { createServerDeps, startServer, type ControllerParts } from '../../src/server/index.js';
import { HistoryStore, PostgresStore } from '../../src/store/index.js';
import { DecisionLoop, OPERATE_TOKEN, READ_TOKEN, serverConfig } from './harness.js';

const PG_URL = process.env.PHOENIX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A TCP hop in front of PostgreSQL that the test can cut, as a network partition would. */
async function cuttableProxy(target: URL): Promise<{ port: number; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut: async () => {
      if (!server.listening) return;
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

test('while the PostgreSQL store is unreachable: /metrics answers 200 with phoenix_store_up 0, a change is refused 503 and /readyz is not ready', async () => {
  const proxy = await cuttableProxy(new URL(PG_URL));
  const via = new URL(PG_URL);
  via.host = `127.0.0.1:${proxy.port}`;
  const schema = `phoenix_test_${randomBytes(6).toString('hex')}`;
  const db = await PostgresStore.open(via.toString(), schema);
  const config = serverConfig();
  const loop = new DecisionLoop(config);
  // The server's side of the controller: its events, its latest cycle and a way to start one.
  const controller = Object.assign(new EventEmitter(), {
    latest: () => loop.recent.latest(),
    runCycleNow: (reason: string) => loop.runCycleNow(reason),
  }) as unknown as ControllerParts['controller'];
  await loop.cycle();
  const server = await startServer({
    config,
    deps: createServerDeps({ controller, history: new HistoryStore(db), interval_s: 30, config }),
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  const scrape = async () => {
    const response = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    });
    return { status: response.status, text: await response.text() };
  };
  try {
    const up = await scrape();
    assert.equal(up.status, 200, up.text);
    assert.match(up.text, /^phoenix_store_up 1$/m);

    await proxy.cut();
    const down = await scrape();
    assert.equal(down.status, 200, down.text);
    assert.match(down.text, /^phoenix_store_up 0$/m);
    assert.match(down.text, /^phoenix_score /m, 'the series that do not come from the store are still there');
    const runs = await fetch(`${server.url}/api/runs`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    });
    assert.equal(
      runs.status,
      503,
      'a read the store cannot answer is a 503 naming it, not an internal error',
    );
    assert.match(((await runs.json()) as { error: string }).error, /store/);

    // A write while the store cannot be reached: refused, never acknowledged, and the controller not ready.
    const change = await fetch(`${server.url}/api/changes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'deploy', service: 'checkout', description: 'release 42' }),
    });
    const refused = (await change.json()) as { error: string };
    assert.equal(change.status, 503, JSON.stringify(refused));
    assert.match(refused.error, /the store .* cannot write/);
    const ready = await fetch(`${server.url}/readyz`);
    const readiness = (await ready.json()) as { ready: boolean; reasons: string[] };
    assert.equal(ready.status, 503);
    assert.ok(
      readiness.reasons.some((r) => /the store .* cannot write/.test(r)),
      JSON.stringify(readiness),
    );
  } finally {
    await proxy.cut();
    await server.close();
    await db.close();
    const admin = await PostgresStore.open(PG_URL, schema);
    await admin.dropSchema();
    await admin.close();
  }
});
