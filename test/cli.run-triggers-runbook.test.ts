import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runCli, startPhoenix } from './helpers/paths.js';
import { httpServer } from './helpers/servers.js';

let app: Awaited<ReturnType<typeof httpServer>>;
let dir: string;
before(async () => {
  app = await httpServer((_req, res) => {
    res.statusCode = 503;
    res.end('down');
  });
  dir = mkdtempSync(join(tmpdir(), 'phoenix-run-runbook-'));
});
after(() => app.close());

// With the naive threshold analyzer every failing probe adds up to a DR decision at once, so this
// proves the wiring (controller → decision → runbook engine → journal), not the decision model.
test('phoenix run starts the configured runbook when the policy decides a failover, and runs it once', async () => {
  const marker = join(dir, 'failover.log');
  const config = join(dir, 'phoenix.yaml');
  writeFileSync(
    config,
    stringify({
      interval: '1s',
      decision: { analyzer: 'threshold' },
      server: { enabled: false },
      store: { path: join(dir, 'phoenix.db') },
      probes: {
        timeout: '3s',
        signals: {
          internal_services: { type: 'http', url: `${app.url}/` },
          cross_cloud: { type: 'http', url: `${app.url}/` },
          eks_nodes: { type: 'http', url: `${app.url}/` },
        },
      },
      runbooks: {
        dr_failover: {
          stages: [
            {
              name: 'promote',
              steps: [
                {
                  name: 'record',
                  type: 'command',
                  params: { command: 'sh', args: ['-c', `echo promoted >> ${marker}`] },
                },
              ],
            },
          ],
        },
      },
    }),
  );
  const phoenix = startPhoenix(['run', '--config', config, '--log-format', 'json']);
  try {
    const succeeded = () =>
      phoenix
        .stdout()
        .split('\n')
        .some((l) => l.includes('"msg":"runbook run"') && l.includes('"status":"succeeded"'));
    await phoenix.waitFor(() => existsSync(marker) && succeeded(), 'a succeeded runbook run');
    // Later cycles keep seeing the outage; the cooldown holds them, so the runbook ran once.
    const cycles = () =>
      phoenix
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"msg":"cycle: score')).length;
    const seen = cycles();
    await phoenix.waitFor(() => cycles() >= seen + 2, 'two more cycles after the run');
    assert.equal(await phoenix.stop(), 0, phoenix.output());
  } finally {
    await phoenix.stop();
  }
  assert.equal(readFileSync(marker, 'utf8'), 'promoted\n');
  const runs = await runCli(['runs', '--config', config, '--json']);
  assert.equal(runs.code, 0, runs.stderr);
  // NDJSON: one object per run.
  const list = runs.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(list.length, 1);
  assert.equal(list[0].runbook, 'dr_failover');
  assert.equal(list[0].status, 'succeeded');
});
