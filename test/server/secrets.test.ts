import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/index.js';
import { Notifier } from '../../src/notifications/index.js';
import { RunbookEngine } from '../../src/runbook/index.js';
import { JournalRunControl, startServer } from '../../src/server/index.js';
import { openDatabase } from '../../src/store/index.js';
import { httpServer } from '../helpers/servers.js';
import { READ_TOKEN, serverConfig } from './harness.js';

const SECRETS = ['T0SECRETTEAM', 'B0SECRETHOOK', 'xoxSECRETPATH', 'querySECRET', 'bodySECRET'];

test('a failing notification, notify step or http step keeps secret URLs out of the log and the API', async () => {
  // Answers like Slack to a revoked hook, and echoes the URL it was called at, as some servers do.
  const slack = await httpServer((request, response) => {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end(`no_service (called at http://example.test${request.url}?sig=bodySECRET)`);
  });
  const base = `http://127.0.0.1:${slack.port}`;
  const hook = `${base}/services/T0SECRETTEAM/B0SECRETHOOK/xoxSECRETPATH?t=querySECRET`;
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-secrets-'));
  const lines: string[] = [];
  const logger = createLogger({
    pretty: false,
    destination: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }),
  });
  const step = (name: string, type: string, params: Record<string, unknown>) => ({
    name,
    type,
    params,
    continue_on_error: true,
  });
  const config = serverConfig(
    {},
    {
      store: { path: join(dir, 'phoenix.db') },
      runbooks: {
        dr_failover: {
          stages: [
            {
              name: 'tell',
              steps: [
                step('slack', 'notify', { channel: 'slack', webhook_url: hook, message: 'failing over' }),
                step('jenkins', 'http', { method: 'POST', url: hook }),
              ],
            },
          ],
        },
      },
    },
  );
  const db = openDatabase(config.store.path);
  const engine = new RunbookEngine({ db, config, pollMs: 50, workDir: join(dir, 'runs') });
  const server = await startServer({
    config,
    deps: { runs: new JournalRunControl(engine.journal) },
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  try {
    const notifier = new Notifier({
      settings: { channels: [{ channel: 'slack', webhook_url: hook }] },
      logger,
    });
    const [delivery] = await notifier.send({
      kind: 'decision',
      subject: 'dr_failover',
      source: 'controller',
      key: 'k',
      severity: 'critical',
      text: 'DR failover',
    });
    assert.equal(delivery.ok, false);
    const handle = await engine.start('dr_failover', { trigger: 'test' });
    await handle.done;
    const response = await fetch(`${server.url}/api/runs/${handle.runId}`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    });
    const run = await response.text();
    const log = lines.join('');
    assert.match(log, /notification not delivered/);
    assert.match(run, /HTTP 404/, 'the steps failed and say how');
    const stored = JSON.stringify(
      db.prepare('SELECT name, error, summary FROM runbook_steps WHERE run_id = ?').all(handle.runId),
    );
    assert.ok(stored.includes(`POST ${base}/[redacted] answered HTTP 404`), `the host stays: ${stored}`);
    for (const secret of SECRETS) {
      assert.ok(!log.includes(secret), `${secret} in the log: ${log}`);
      assert.ok(!run.includes(secret), `${secret} in GET /api/runs/:id: ${run}`);
      assert.ok(!stored.includes(secret), `${secret} in runbook_steps: ${stored}`);
      assert.ok(!delivery.detail.includes(secret), `${secret} in the delivery result`);
    }
  } finally {
    await server.close();
    db.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
