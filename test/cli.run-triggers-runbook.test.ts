import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { REPO_ROOT, runCli } from './helpers/paths.js';
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
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve(REPO_ROOT, 'src/cli/main.ts'),
      'run',
      '--config',
      config,
      '--log-format',
      'json',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (err += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const deadline = Date.now() + 60_000;
    const succeeded = () =>
      out.split('\n').some((l) => l.includes('"msg":"runbook run"') && l.includes('"status":"succeeded"'));
    while (!(existsSync(marker) && succeeded())) {
      if (child.exitCode !== null || Date.now() > deadline)
        assert.fail(`no runbook run: ${err}${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Later cycles keep deciding DR; the cooldown holds them, so the runbook ran once.
    await new Promise((r) => setTimeout(r, 2500));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
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
