import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { parseConfig } from '../config/index.js';
import { freePort, spawnDaemon, stopProcess, waitUntil } from '../lab/index.js';
import { createContextGatherer } from './index.js';

const PROMETHEUS = '/usr/bin/prometheus';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

describe(
  'Prometheus gatherer against a real Prometheus scraping a local /metrics',
  { skip: !existsSync(PROMETHEUS) && 'prometheus is not installed (scripts/setup.sh installs it)' },
  () => {
    let dir: string;
    let exporter: Server;
    let pid = 0;
    let promUrl = '';
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'phoenix-prom-'));
      const registry = new Registry();
      new Gauge({ name: 'phoenix_test_error_ratio', help: 'share of 5xx', registers: [registry] }).set(0.25);
      const latency = new Gauge({
        name: 'phoenix_test_p99_ms',
        help: 'p99',
        labelNames: ['route'],
        registers: [registry],
      });
      latency.set({ route: '/cart' }, 180);
      latency.set({ route: '/pay' }, 950);
      exporter = createServer((_req, res) => {
        void registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        });
      });
      const exporterPort = await listen(exporter);
      const port = await freePort();
      writeFileSync(
        join(dir, 'prometheus.yml'),
        `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: app
    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]
`,
      );
      const daemon = spawnDaemon(
        PROMETHEUS,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { logFile: join(dir, 'prometheus.log'), cwd: dir },
      );
      pid = daemon.pid;
      promUrl = `http://127.0.0.1:${port}`;
      await waitUntil(
        async () => {
          try {
            const r = await fetch(`${promUrl}/api/v1/query?query=phoenix_test_error_ratio`);
            const body = (await r.json()) as { data?: { result?: unknown[] } };
            return (body.data?.result?.length ?? 0) > 0;
          } catch {
            return false;
          }
        },
        60_000,
        'Prometheus to scrape the test exporter',
        250,
      );
    });
    after(async () => {
      if (pid) await stopProcess(pid);
      await closeServer(exporter);
      rmSync(dir, { recursive: true, force: true });
    });

    test('instant and range queries become metrics; a bad or empty query is reported beside them', async () => {
      const now = Date.now() / 1000;
      const config = parseConfig({
        context: {
          prometheus: {
            url: promUrl,
            queries: {
              error_rate: 'phoenix_test_error_ratio',
              p99_latency_ms: 'phoenix_test_p99_ms',
              request_rate: {
                query: 'phoenix_test_error_ratio * 4000',
                range: '10s',
                step: '1s',
                reduce: 'max',
              },
              queue_depth: 'nonexistent_metric_total',
              broken: 'sum(',
            },
          },
        },
      });
      const gatherer = createContextGatherer(config);
      const context = await gatherer.gather(now);
      assert.deepEqual(context.metrics, { error_rate: 0.25, p99_latency_ms: 950, request_rate: 1000 });
      const report = gatherer.lastReport.find((r) => r.source === 'prometheus')!;
      assert.equal(report.ok, true);
      assert.match(report.detail!, /prometheus queue_depth: no data/);
      assert.match(report.detail!, /prometheus broken: .*parse error/);
    });
  },
);

describe('Prometheus gatherer against broken answers', () => {
  let server: Server;
  let mode: 'error_status' | 'garbage' | 'slow' | 'wrong_shape' = 'garbage';
  let url = '';
  before(async () => {
    server = createServer((_req, res) => {
      if (mode === 'slow') return; // never answers; the gatherer's deadline must end it
      res.writeHead(mode === 'error_status' ? 503 : 200, { 'content-type': 'application/json' });
      if (mode === 'error_status')
        return res.end('{"status":"error","errorType":"unavailable","error":"too many queries"}');
      if (mode === 'wrong_shape')
        return res.end('{"status":"success","data":{"resultType":"vector","result":[{"value":"x"}]}}');
      res.end('<html>oops</html>');
    });
    url = `http://127.0.0.1:${await listen(server)}`;
  });
  after(async () => {
    await closeServer(server);
  });

  for (const m of ['error_status', 'garbage', 'slow', 'wrong_shape'] as const) {
    test(`${m}: no metrics, a reason, and the gather still resolves`, async () => {
      mode = m;
      const config = parseConfig({
        context: { timeout: 0.5, prometheus: { url, queries: { error_rate: 'x' } } },
      });
      const gatherer = createContextGatherer(config);
      const context = await gatherer.gather(1000);
      assert.equal(context.metrics, undefined);
      const report = gatherer.lastReport[0];
      assert.equal(report.ok, false);
      if (m === 'error_status') assert.match(report.detail!, /HTTP 503/);
      if (m === 'garbage') assert.match(report.detail!, /not JSON/);
      if (m === 'slow') assert.match(report.detail!, /no answer/);
      if (m === 'wrong_shape') assert.match(report.detail!, /not in the Prometheus API shape/);
    });
  }
});
