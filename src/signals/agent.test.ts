import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { parseConfig } from '../config/index.js';
import { createSignalSource, startAgentServer, type AgentServer } from './index.js';
import { httpServer } from '../../test/helpers/servers.js';

const TOKEN = 'agent-token-0123456789abcdef';
let agent: AgentServer;
let site: Awaited<ReturnType<typeof httpServer>>;
const logged: Array<{ method: string; path: string; status: number }> = [];
let closeSource: () => Promise<void>;

before(async () => {
  site = await httpServer((_req, res) => res.end('ok'));
  const config = parseConfig({ probes: { signals: { public_endpoint: { type: 'http', url: site.url } } } });
  const source = createSignalSource(config);
  closeSource = () => source.close();
  agent = await startAgentServer({
    name: 'frankfurt',
    source,
    token: TOKEN,
    onRequest: (entry) => logged.push(entry),
  });
});

after(async () => {
  await agent.close();
  await closeSource();
  await site.close();
});

async function call(path: string, options: { token?: string; method?: 'GET' | 'POST' | 'HEAD' } = {}) {
  const response = await request(`${agent.url}${path}`, {
    method: options.method ?? 'GET',
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

test('the agent answers GET /v1/signals/NAME with its own measurement, behind the bearer token', async () => {
  const r = await call('/v1/signals/public_endpoint', { token: TOKEN });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.body.agent, 'frankfurt');
  assert.equal((r.body.signal as { status: string }).status, 'ok');
  assert.equal(typeof r.body.at, 'number');

  const all = await call('/v1/signals', { token: TOKEN });
  assert.equal(all.status, 200);
  assert.deepEqual(Object.keys(all.body.signals as object), ['public_endpoint']);

  const health = await call('/healthz');
  assert.deepEqual([health.status, health.body], [200, { ok: true, agent: 'frankfurt' }]);
});

test('the agent refuses a missing or wrong token before anything else, and serves GET only', async () => {
  for (const r of [
    await call('/v1/signals/public_endpoint'),
    await call('/v1/signals/public_endpoint', { token: 'wrong' }),
    await call('/nowhere', { token: 'wrong' }),
    await call('/v1/signals', { token: 'wrong', method: 'POST' }),
  ])
    assert.deepEqual([r.status, r.body], [401, { error: 'missing or wrong bearer token' }]);
  const post = await call('/v1/signals/public_endpoint', { token: TOKEN, method: 'POST' });
  assert.deepEqual([post.status, post.body], [405, { error: 'only GET is served' }]);
  const head = await call('/v1/signals/public_endpoint', { token: TOKEN, method: 'HEAD' });
  assert.equal(head.status, 405);
});

test('the agent names what it has when asked for a path or probe it does not have', async () => {
  const unknown = await call('/v1/signals/dns_check', { token: TOKEN });
  assert.deepEqual(unknown, {
    status: 404,
    headers: unknown.headers,
    body: { error: 'this agent has no probe named dns_check; it has: public_endpoint' },
  });
  const badName = await call('/v1/signals/Public-Endpoint', { token: TOKEN });
  assert.deepEqual(badName.body, { error: 'no such path /v1/signals/Public-Endpoint; try /v1/signals/NAME' });
  const other = await call('/metrics?x=1', { token: TOKEN });
  assert.deepEqual(
    [other.status, other.body],
    [404, { error: 'no such path /metrics; try /v1/signals/NAME' }],
  );
  assert.deepEqual(logged.at(-1), { method: 'GET', path: '/metrics', status: 404 });
});
