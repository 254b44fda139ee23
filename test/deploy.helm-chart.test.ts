import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '../src/config/index.js';
import { REPO_ROOT } from './helpers/paths.js';

// helm is not installable here (no Debian package), so the templates cannot be rendered in a test.
// What can be checked: the chart's default configuration is one phoenix accepts, and the values,
// templates and Dockerfile agree on ports, paths and probes.
const CHART = resolve(REPO_ROOT, 'deploy/helm/cloudphoenix');
const read = (path: string) => readFileSync(resolve(CHART, path), 'utf8');

interface Values {
  config: { server: { listen: string }; store: { path: string } } & Record<string, unknown>;
  secretEnv: Record<string, { secretName: string; key: string }>;
  service: { port: number; targetPort: number };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
}

test("the chart's default configuration is valid, and every ${VAR} in it comes from a Secret", () => {
  const chart = parse(read('Chart.yaml')) as Record<string, string>;
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'cloudphoenix');
  const values = parse(read('values.yaml')) as Values;
  const text = JSON.stringify(values.config);
  const vars = [...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]);
  assert.ok(vars.length > 0);
  for (const name of vars) assert.ok(values.secretEnv[name], `${name} has no secretEnv entry`);
  const env = Object.fromEntries(vars.map((name) => [name, `${name.toLowerCase()}-0123456789abcdef`]));
  const config = parseConfig(values.config, 'values.yaml#config', env);
  assert.equal(config.store.path, '/var/lib/phoenix/phoenix.db');
  assert.deepEqual(
    config.raw.server?.tokens?.map((t) => t.role),
    ['read', 'operate', 'webhook'],
    'Alertmanager gets a token that may only post webhooks',
  );
});

test('values, templates and the Dockerfile agree on the port, the mounts, the probes and the replicas', () => {
  const values = parse(read('values.yaml')) as Values;
  assert.equal(Number(values.config.server.listen.split(':').at(-1)), values.service.targetPort);
  assert.equal(values.livenessProbe.httpGet.path, '/healthz');
  assert.equal(values.readinessProbe.httpGet.path, '/readyz');
  assert.equal(values.livenessProbe.httpGet.port, 'http');

  const deployment = read('templates/deployment.yaml');
  assert.match(deployment, /^ {2}replicas: \{\{ \.Values\.replicaCount \}\}$/m);
  assert.equal((parse(read('values.yaml')) as { replicaCount: number }).replicaCount, 1);
  assert.match(deployment, /^ {4}type: Recreate$/m);
  assert.match(deployment, /- name: http\n\s+containerPort: \{\{ \.Values\.service\.targetPort \}\}/);
  assert.match(deployment, /mountPath: \/etc\/phoenix\n/);
  assert.match(deployment, /- \/etc\/phoenix\/phoenix\.yaml\n/);
  const dataMount = /- name: data\n\s+mountPath: (\S+)/.exec(deployment)?.[1];
  assert.ok(dataMount && values.config.store.path.startsWith(`${dataMount}/`));
  assert.match(read('templates/configmap.yaml'), /^ {2}phoenix\.yaml: \|$/m);

  const dockerfile = readFileSync(resolve(REPO_ROOT, 'Dockerfile'), 'utf8');
  // Node.js 20 reached end of life in April 2026: the image is on the current LTS, as engines.node says.
  assert.match(dockerfile, /^FROM node:24-slim/m);
  assert.doesNotMatch(dockerfile, /^FROM node:(1\d|20)\b/m);
  const engines = (
    JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    }
  ).engines.node;
  assert.equal(engines, '>=22');
  assert.match(dockerfile, /npm ci --omit=dev/);
  assert.match(dockerfile, /CMD \["run", "--config", "\/etc\/phoenix\/phoenix\.yaml"/);
  assert.match(dockerfile, /chown node:node \/var\/lib\/phoenix/);
  assert.match(dockerfile, /^USER node$/m);
});

test('several replicas only with the PostgreSQL store: the chart fails on SQLite, and PostgreSQL pods follow with --standby and keep no volume', () => {
  const helpers = read('templates/_helpers.tpl');
  const deployment = read('templates/deployment.yaml');
  // The guard: rendered first in the Deployment, a `fail` unless the driver is postgres.
  assert.match(deployment, /^\{\{- include "cloudphoenix\.checkReplicas" \. \}\}\napiVersion: apps\/v1/);
  const guard = /define "cloudphoenix\.checkReplicas" -\}\}\n(.*?)\{\{- end -\}\}\n\{\{- end -\}\}/s.exec(
    helpers,
  )?.[1];
  assert.ok(guard, 'the checkReplicas helper');
  assert.match(
    guard,
    /gt \(int \.Values\.replicaCount\) 1\) \(not \(include "cloudphoenix\.postgres" \.\)\)/,
  );
  assert.match(guard, /fail "replicaCount > 1 needs config\.store\.driver: postgres/);
  assert.match(helpers, /eq \(\.Values\.config\.store\.driver \| default "sqlite"\) "postgres"/);
  // PostgreSQL: every pod a standby, rolling updates, no ReadWriteOnce claim.
  assert.match(deployment, /include "cloudphoenix\.postgres" \. \}\}\n\s+# .*\n\s+- --standby/);
  assert.match(deployment, /type: RollingUpdate/);
  assert.match(read('templates/pvc.yaml'), /\(not \(include "cloudphoenix\.postgres" \.\)\)/);
  assert.match(deployment, /persistence\.enabled \(not \(include "cloudphoenix\.postgres" \.\)\)/);
  // The PostgreSQL store the values describe is one phoenix accepts, its URL from a Secret.
  const values = parse(read('values.yaml')) as Values;
  const config = parseConfig(
    { ...values.config, store: { driver: 'postgres', url: '${PHOENIX_STORE_URL}', schema: 'phoenix' } },
    'values.yaml#config',
    {
      PHOENIX_STORE_URL: 'postgres://phoenix:secret@db:5432/phoenix',
      PHOENIX_METRICS_TOKEN: 'metrics-0123456789abcdef',
      PHOENIX_OPERATE_TOKEN: 'operate-0123456789abcdef',
      PHOENIX_WEBHOOK_TOKEN: 'webhook-0123456789abcdef',
    },
  );
  assert.equal(config.store.driver, 'postgres');
  assert.equal(config.store.url, 'postgres://phoenix:secret@db:5432/phoenix');
  assert.match(read('values.yaml'), /PHOENIX_STORE_URL: \{ secretName: cloudphoenix-store, key: url \}/);
});
