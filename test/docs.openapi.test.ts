import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { buildApp, resolveServerOptions, ServerMetrics } from '../src/server/index.js';
import { REPO_ROOT } from './helpers/paths.js';

const DOCUMENT = resolve(REPO_ROOT, 'docs/openapi.json');
const GUIDE = resolve(REPO_ROOT, 'docs/http-api.md');
const REGENERATE = 'UPDATE_DOCS=1 node scripts/run-tests.mjs docs.openapi';

/** The API with no controller behind it: the routes and their schemas are all there. */
const bareApp = () =>
  buildApp({
    options: { ...resolveServerOptions({ anonymous: 'read' }, 30), dashboard: false },
    deps: {},
    metrics: new ServerMetrics(),
  });

/** The document the routes serve at GET /api/openapi.json, formatted as `npm run lint` wants it. */
async function served(): Promise<{ text: string; document: OpenApi }> {
  const app = await bareApp();
  try {
    const response = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    assert.equal(response.statusCode, 200, response.body);
    const text = await format(response.body, { ...(await resolveConfig(DOCUMENT)), filepath: DOCUMENT });
    return { text, document: JSON.parse(response.body) as OpenApi };
  } finally {
    await app.close();
  }
}

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { summary: string; parameters?: Array<{ name: string }> }>>;
}

test('docs/openapi.json is the document the route schemas generate now', async () => {
  const { text } = await served();
  if (process.env.UPDATE_DOCS === '1') writeFileSync(DOCUMENT, text);
  const have = readFileSync(DOCUMENT, 'utf8');
  assert.ok(have === text, `docs/openapi.json is stale: regenerate it with ${REGENERATE}`);
});

test('every route of the document is described in docs/http-api.md, and every API route has a schema', async () => {
  const { document } = await served();
  assert.equal(document.openapi, '3.1.0');
  const guide = readFileSync(GUIDE, 'utf8');
  const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
  for (const route of routes) assert.ok(guide.includes(`\`${route}\``), `docs/http-api.md lacks ${route}`);
  for (const needed of ['GET /api/status', 'POST /api/webhooks/alertmanager', 'GET /api/runs/{id}/report'])
    assert.ok(routes.includes(needed), `${needed} is in the document`);
  const history = document.paths['/api/history']!.get!;
  assert.deepEqual(
    history.parameters?.map((p) => p.name),
    ['since', 'limit'],
  );
});

test('a route refuses input its schema refuses, naming the field, in the API error shape', async () => {
  const app = await bareApp();
  try {
    const bad = await app.inject({ method: 'GET', url: '/api/history?limit=0' });
    assert.equal(bad.statusCode, 400);
    assert.match(JSON.parse(bad.body).error, /^limit: .*>=1/);
  } finally {
    await app.close();
  }
});
