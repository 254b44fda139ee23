import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ReadinessMonitor } from '../../src/runbook/index.js';
import { startServer } from '../../src/server/index.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { needTool } from '../helpers/tools.js';
import { DecisionLoop, READ_TOKEN, snapshot } from './harness.js';
import { runbookWorld } from './runbook-world.js';

const RULES = resolve(REPO_ROOT, 'deploy/prometheus/rules.yaml');
const DASHBOARD = resolve(REPO_ROOT, 'deploy/grafana/cloudphoenix-dashboard.json');
const missing = ['prometheus', 'promtool'].filter((bin) => spawnSync('which', [bin]).status !== 0);
const skip = needTool(missing.length > 0, missing.join(', '), 'install the Debian package prometheus');

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('the alert rules pass promtool check and their unit tests', { skip }, () => {
  const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /SUCCESS: 9 rules found/);
  const unit = spawnSync('promtool', ['test', 'rules', 'rules.test.yaml'], {
    cwd: resolve(REPO_ROOT, 'deploy/prometheus'),
    encoding: 'utf8',
  });
  assert.equal(unit.status, 0, unit.stdout + unit.stderr);
});

test(
  'a real Prometheus scrapes the controller with a read token, loads the rules and evaluates them on its series',
  { skip, timeout: 120_000 },
  async () => {
    const world = runbookWorld({}, { verifyScript: 'echo smoke test failed >&2; exit 3', autoApprove: true });
    // The last cycle finished ten minutes ago with the DR site down: stale and not ready.
    const loop = new DecisionLoop(world.config, Math.floor(Date.now() / 1000) - 900);
    for (let i = 0; i < 10; i++, loop.clock += 30) await loop.cycle();
    loop.next = snapshot({ dr_site: 'error', eks_nodes: 'degraded' });
    await loop.cycle();
    const failed = await (await world.engine.start('dr_failover', { trigger: 'test' })).done;
    assert.equal(failed.status, 'failed');
    const readiness = new ReadinessMonitor({ config: world.config });
    await readiness.check();

    const server = await startServer({
      config: world.config,
      deps: { status: loop.recent, events: loop.recent, runs: world.runs, readiness },
      listen: { host: '127.0.0.1', port: 0 },
    });
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-prometheus-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(RULES)}`,
        'scrape_configs:',
        '  - job_name: cloudphoenix',
        '    authorization:',
        `      credentials_file: ${JSON.stringify(join(dir, 'token'))}`,
        '    static_configs:',
        `      - targets: ["${server.url.replace('http://', '')}"]`,
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'token'), READ_TOKEN);
    let prometheus: ChildProcess | undefined;
    let stderr = '';
    const api = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      const body = (await response.json()) as { status: string; data: unknown; error?: string };
      if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
      return body.data;
    };
    try {
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      prometheus.stderr!.on('data', (chunk) => (stderr += String(chunk)));

      const target = await until(async () => {
        const data = (await api('/api/v1/targets')) as {
          activeTargets: Array<{ health: string; lastError: string }>;
        };
        const t = data.activeTargets[0];
        return t && t.health !== 'unknown' ? t : undefined;
      }, 'the first scrape');
      assert.equal(target.health, 'up', `scrape failed: ${target.lastError}`);

      const value = async (query: string) => {
        const data = (await api(`/api/v1/query?query=${encodeURIComponent(query)}`)) as {
          result: Array<{ metric: Record<string, string>; value: [number, string] }>;
        };
        return data.result;
      };
      assert.equal(Number((await value('phoenix_score'))[0].value[1]), loop.recent.latest()!.score.score);
      assert.equal(Number((await value('phoenix_dr_ready'))[0].value[1]), 0);
      assert.equal(Number((await value('phoenix_signal_weight{signal="eks_nodes"}'))[0].value[1]), 2);
      assert.equal(Number((await value('phoenix_runbook_ready{runbook="dr_failover"}'))[0].value[1]), 1);

      const rules = (await api('/api/v1/rules')) as {
        groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }>;
      };
      assert.equal(rules.groups.length, 1);
      assert.equal(rules.groups[0].rules.length, 9);
      for (const rule of rules.groups[0].rules)
        assert.notEqual(rule.health, 'err', `${rule.name}: ${rule.lastError}`);

      const alerts = await until(async () => {
        const data = (await api('/api/v1/alerts')) as {
          alerts: Array<{ labels: Record<string, string>; state: string }>;
        };
        const names = new Set(data.alerts.map((a) => `${a.labels.alertname}:${a.state}`));
        return names.has('PhoenixRunbookFailed:firing') && names.has('PhoenixCyclesStale:pending')
          ? names
          : undefined;
      }, 'the alerts on the controller series');
      assert.ok(alerts.has('PhoenixDrNotReady:pending'), [...alerts].join(', '));
      assert.ok(![...alerts].some((a) => a.startsWith('PhoenixControllerDown')));

      // Every query of the Grafana dashboard is valid PromQL over series the controller exports.
      const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
        panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
      };
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          const expr = target.expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m');
          const result = await value(expr);
          if (!/analyzer|webhook|decisions_total|cycles_total|stage_duration|check_failures/.test(expr))
            assert.ok(result.length > 0, `panel "${panel.title}" shows nothing: ${expr}`);
        }
      }
    } catch (error) {
      if (stderr) (error as Error).message += `\nprometheus said:\n${stderr.slice(-2000)}`;
      throw error;
    } finally {
      if (prometheus && prometheus.exitCode === null) {
        const exited = new Promise((r) => prometheus!.once('exit', r));
        prometheus.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (prometheus.exitCode === null) prometheus.kill('SIGKILL');
      }
      await server.close();
      world.cleanup();
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    }
  },
);
