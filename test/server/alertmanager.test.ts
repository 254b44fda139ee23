import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/lab/ports.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { needFiles } from '../helpers/tools.js';
import { DecisionLoop, serveLoop, serverConfig, snapshot, WEBHOOK_TOKEN } from './harness.js';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const EXAMPLE = resolve(REPO_ROOT, 'examples/alertmanager.yml');

/** Resolves when the process prints a line matching `pattern` (its log says it listens), or rejects on exit. */
function printed(child: ReturnType<typeof spawn>, pattern: RegExp): Promise<void> {
  return new Promise((resolvePrinted, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) resolvePrinted();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`alertmanager exited (${code}):\n${seen}`)));
  });
}

test(
  'the documented alertmanager.yml, run by a real Alertmanager, delivers an alert that starts a cycle',
  { skip: needFiles([ALERTMANAGER], 'install the Debian package prometheus-alertmanager'), timeout: 60_000 },
  async () => {
    const example = readFileSync(EXAMPLE, 'utf8');
    assert.ok(
      readFileSync(resolve(REPO_ROOT, 'docs/http-api.md'), 'utf8').includes(example),
      'docs/http-api.md shows examples/alertmanager.yml verbatim',
    );
    const config = serverConfig({ webhook: { match: { service: 'shop' } } });
    const loop = new DecisionLoop(config);
    const server = await serveLoop(config, loop);
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-alertmanager-'));
    const tokenFile = join(dir, 'cloudphoenix-webhook.token');
    writeFileSync(tokenFile, WEBHOOK_TOKEN + '\n', { mode: 0o600 });
    // Only where this machine differs: the controller's address, the token file, and no 10 s group wait.
    const file = example
      .replace('http://127.0.0.1:8080', server.url)
      .replace('/etc/prometheus/cloudphoenix-webhook.token', tokenFile)
      .replace('group_wait: 10s', 'group_wait: 0s');
    writeFileSync(join(dir, 'alertmanager.yml'), file);
    const port = await freePort();
    const alertmanager = spawn(
      ALERTMANAGER,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=', // no gossip port: a single instance
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await printed(alertmanager, /Listening on/);
      loop.next = snapshot({ internal_services: 'error' });
      const cycled = loop.nextCycle(/^alertmanager: CheckoutDown firing/);
      const posted = await fetch(`http://127.0.0.1:${port}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            labels: { alertname: 'CheckoutDown', service: 'shop' },
            annotations: { summary: 'checkout fails' },
          },
        ]),
      });
      assert.equal(posted.status, 200, await posted.text());
      const record = await cycled;
      assert.equal(record.score.score, 5);
    } finally {
      const exited = once(alertmanager, 'exit');
      alertmanager.kill('SIGTERM');
      await exited;
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
