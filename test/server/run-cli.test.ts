import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signedHeaders } from '../../src/server/index.js';
import { freePort } from '../../src/lab/ports.js';
import { startPhoenix } from '../helpers/paths.js';
import { firingAlertBody } from './harness.js';

const TOKEN = 'cli-operate-token-0123456789';
const SECRET = 'cli-webhook-secret-0123456789';

test(
  'phoenix run serves the API and dashboard, runs a cycle on an alert, and stops cleanly on SIGTERM',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-run-'));
    const port = await freePort();
    const config = join(dir, 'phoenix.yaml');
    writeFileSync(
      config,
      [
        'interval: 1h',
        `store: { path: ${JSON.stringify(join(dir, 'phoenix.db'))} }`,
        'server:',
        `  listen: 127.0.0.1:${port}`,
        '  tokens:',
        '    - { name: oncall, token: "${PHX_TOKEN}", role: operate }',
        '  webhook: { secret: "${PHX_SECRET}" }',
        '',
      ].join('\n'),
    );
    const phoenix = startPhoenix(['run', '--config', config, '--log-format', 'json'], {
      PHX_TOKEN: TOKEN,
      PHX_SECRET: SECRET,
    });
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${TOKEN}` };
    try {
      await phoenix.waitFor(
        async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200,
        'readiness',
      );
      const page = await fetch(base);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>CloudPhoenix<\/title>/);

      const body = firingAlertBody('ApiDown', 'f1');
      const hook = await fetch(`${base}/api/webhooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signedHeaders(SECRET, body) },
        body,
      });
      assert.equal(hook.status, 202);
      // The interval is an hour: a second cycle can only come from the alert.
      let points: Array<{ at: number }> = [];
      await phoenix.waitFor(async () => {
        points = (await (await fetch(`${base}/api/history?since=1h`, { headers: auth })).json()).points;
        return points.length >= 2;
      }, 'the cycle the alert started');
      assert.equal(points.length, 2);
      const status = await (await fetch(`${base}/api/status`, { headers: auth })).json();
      assert.match(status.latest.reason, /alertmanager: ApiDown firing/);
      const metrics = await (await fetch(`${base}/metrics`, { headers: auth })).text();
      assert.match(metrics, /^phoenix_cycles_total\{trigger="alertmanager"\} 1$/m);
      assert.match(metrics, /^phoenix_process_resident_memory_bytes \d+/m);

      assert.equal(await phoenix.stop(), 0, phoenix.output());
      const output = phoenix.output();
      assert.match(output, /HTTP API, \/metrics and dashboard listening/);
      assert.match(output, /webhook starts a cycle/);
      assert.ok(!output.includes(TOKEN), 'the token reached the log');
      assert.ok(!output.includes(SECRET), 'the webhook secret reached the log');
    } finally {
      await phoenix.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
