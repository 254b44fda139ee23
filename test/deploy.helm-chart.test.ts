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
  assert.equal(config.raw.server?.tokens?.length, 2);
});

test('values, templates and the Dockerfile agree on the port, the mounts, the probes and one replica', () => {
  const values = parse(read('values.yaml')) as Values;
  assert.equal(Number(values.config.server.listen.split(':').at(-1)), values.service.targetPort);
  assert.equal(values.livenessProbe.httpGet.path, '/healthz');
  assert.equal(values.readinessProbe.httpGet.path, '/readyz');
  assert.equal(values.livenessProbe.httpGet.port, 'http');

  const deployment = read('templates/deployment.yaml');
  assert.match(deployment, /^ {2}replicas: 1$/m);
  assert.match(deployment, /^ {4}type: Recreate$/m);
  assert.match(deployment, /- name: http\n\s+containerPort: \{\{ \.Values\.service\.targetPort \}\}/);
  assert.match(deployment, /mountPath: \/etc\/phoenix\n/);
  assert.match(deployment, /- \/etc\/phoenix\/phoenix\.yaml\n/);
  const dataMount = /- name: data\n\s+mountPath: (\S+)/.exec(deployment)?.[1];
  assert.ok(dataMount && values.config.store.path.startsWith(`${dataMount}/`));
  assert.match(read('templates/configmap.yaml'), /^ {2}phoenix\.yaml: \|$/m);

  const dockerfile = readFileSync(resolve(REPO_ROOT, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /^FROM node:20-slim/m);
  assert.match(dockerfile, /npm ci --omit=dev/);
  assert.match(dockerfile, /CMD \["run", "--config", "\/etc\/phoenix\/phoenix\.yaml"/);
  assert.match(dockerfile, /chown node:node \/var\/lib\/phoenix/);
  assert.match(dockerfile, /^USER node$/m);
});
