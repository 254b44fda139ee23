import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PHOENIX_CLI, REPO_ROOT, runCli, startPhoenix } from './helpers/paths.js';
import { closedPort, httpServer } from './helpers/servers.js';

let app: Awaited<ReturnType<typeof httpServer>>;
let dir: string;
before(async () => {
  app = await httpServer((req, res) => {
    res.statusCode = req.url === '/down' ? 503 : 200;
    res.end('ok');
  });
  dir = mkdtempSync(join(tmpdir(), 'phoenix-cli-controller-'));
});
after(() => app.close());

function writeConfig(name: string, signals: Record<string, unknown>, extra = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'interval: 1s',
      'decision: { analyzer: threshold }',
      // The HTTP API is the server's to test; here it would only compete for a port.
      'server: { enabled: false }',
      `store: { path: ${join(dir, name + '.db')} }`,
      'probes:',
      '  timeout: 3s',
      `  signals: ${JSON.stringify(signals)}`,
      extra,
    ].join('\n'),
  );
  return file;
}

test('phoenix score prints signals, score, level and decision; --json gives the record', async () => {
  const file = writeConfig('score', {
    internal_services: { type: 'http_checks', targets: [{ name: 'api', url: `${app.url}/down` }] },
    cross_cloud: { type: 'http', url: `${app.url}/` },
  });
  const text = await runCli(['score', '--config', file]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /internal_services\s+error\s+\+5\s+0\/1 healthy — 1\/1 failing: api \(status 503/,
  );
  assert.match(text.stdout, /cross_cloud\s+ok\s+\+0/);
  assert.match(text.stdout, /score 5 → level self_heal/);
  assert.match(text.stdout, /decision: self_heal/);

  const json = await runCli(['score', '--config', file, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const record = JSON.parse(json.stdout);
  assert.equal(record.score.score, 5);
  assert.equal(record.signals.internal_services.status, 'error');
  assert.equal(record.decision.action, 'self_heal');
});

test('phoenix status without history says how to get one; after a recorded cycle it shows it', async () => {
  const file = writeConfig('status', { internal_services: { type: 'http', url: `${app.url}/down` } });
  const empty = await runCli(['status', '--config', file]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /^phoenix: no history at .*status\.db; start the controller/);

  assert.equal((await runCli(['score', '--config', file, '--record'])).code, 0);
  const shown = await runCli(['status', '--config', file, '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const status = JSON.parse(shown.stdout);
  assert.equal(status.cycles, 1);
  assert.equal(status.latest.signals.internal_services.status, 'error');
  assert.equal(status.decisions[0].action, 'self_heal');
  const human = await runCli(['status', '--config', file]);
  assert.match(human.stdout, /last cycle .* 1 cycles kept/);
  assert.match(human.stdout, /self_heal\s+score\s+5/);
});

test('phoenix run records cycles and exits 0 after SIGTERM, finishing the cycle in flight', async () => {
  const file = writeConfig('run', { internal_services: { type: 'http', url: `${app.url}/` } });
  const phoenix = startPhoenix(['run', '--config', file, '--log-format', 'json']);
  try {
    await phoenix.waitFor(() => (phoenix.stdout().match(/"msg":"cycle: /g) ?? []).length >= 2, 'two cycles');
    assert.equal(await phoenix.stop(), 0, phoenix.output());
  } finally {
    await phoenix.stop();
  }
  const out = phoenix.stdout();
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.msg === 'controller started'));
  assert.equal(lines.at(-1).msg, 'controller stopped');
  const cycles = lines.filter((l) => String(l.msg).startsWith('cycle: '));
  assert.ok(cycles.length >= 2);
  assert.ok(
    cycles.every(
      (l) => typeof l.score === 'number' && typeof l.action === 'string' && l.reason === 'schedule',
    ),
  );
  const status = JSON.parse((await runCli(['status', '--config', file, '--json', '--all'])).stdout);
  assert.equal(status.cycles, lines.at(-1).cycles);
  assert.ok(status.cycles >= 2);
});

test('phoenix agent serves its probes to a controller with the token and exits 0 on SIGTERM', async () => {
  const port = await closedPort();
  const agentConfig = writeConfig('agent', { public_endpoint: { type: 'http', url: `${app.url}/` } });
  const token = 'agent-token-0123456789abcdef';
  const child = spawn(
    process.execPath,
    [
      PHOENIX_CLI,
      'agent',
      '--config',
      agentConfig,
      '--listen',
      `127.0.0.1:${port}`,
      '--token',
      token,
      '--name',
      'eu-west',
      '--log-format',
      'json',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await new Promise<void>((ready, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c;
        if (out.includes('agent listening')) ready();
      });
      child.on('exit', () => reject(new Error('agent exited early')));
    });
    const controllerConfig = writeConfig('uptime', {
      external_uptime: {
        type: 'external_uptime',
        url: `${app.url}/`,
        agents: [
          {
            name: 'eu-west',
            url: `http://127.0.0.1:${port}`,
            token: '${AGENT_TOKEN}',
            signal: 'public_endpoint',
          },
        ],
      },
    });
    const scored = await runCli(['score', '--config', controllerConfig, '--json'], {
      env: { AGENT_TOKEN: token },
    });
    assert.equal(scored.code, 0, scored.stderr);
    const signal = JSON.parse(scored.stdout).signals.external_uptime;
    assert.equal(signal.status, 'ok');
    assert.deepEqual(signal.vantage_points, { 'eu-west': 'up', local: 'up' });
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('bad flags are one-line errors with exit 2', async () => {
  const file = writeConfig('flags', {});
  const r = await runCli(['run', '--config', file, '--log-level', 'loud']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--log-level "loud" is not known/);
  const a = await runCli(['agent', '--config', file, '--token', 'short']);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /shorter than 16 characters/);
});
