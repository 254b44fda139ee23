import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../src/config/index.js';
import { runCli } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'phoenix-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected the configuration to be rejected');
}

test('the example configuration is valid on its own (offline)', () => {
  const config = loadConfig('examples/phoenix.yaml', {}, { offline: true });
  assert.equal(config.interval_s, 30);
  assert.equal(config.decision.analyzer, 'evidence');
  assert.equal(config.store.retention_s, 7 * 86400);
  assert.equal(config.topology.dr.rpo_budget_s, 300);
});

test('an empty file gives the documented defaults', () => {
  const config = parseConfig({});
  assert.equal(config.scoring.levels.dr_failover, 11);
  assert.equal(config.decision.confirm_window_s, 120);
  assert.equal(config.topology.primary.cloud, 'aws');
});

test('a misspelt key is reported with the key it was meant to be', () => {
  const issues = issuesOf(() => parseConfig({ decision: { cooldwn: '1h' } }));
  assert.deepEqual(issues, ['decision.cooldwn: unknown key "cooldwn"; did you mean "cooldown"?']);
});

test('a wrong type names the path, what was expected and what was found', () => {
  const issues = issuesOf(() => parseConfig({ scoring: { levels: { dr_failover: 'eleven' } } }));
  assert.equal(issues.length, 1);
  assert.match(issues[0], /^scoring\.levels\.dr_failover: expected number, got string "eleven"/);
});

test('a weight outside its range is reported with the range', () => {
  const issues = issuesOf(() => parseConfig({ scoring: { signals: { eks_nodes: { error: 9 } } } }));
  assert.deepEqual(issues, [
    "scoring.signals.eks_nodes.error: weight 9 is outside the signal's range 0-4; set a weight between 0 and 4 or widen range",
  ]);
});

test('every problem is reported in one pass, not only the first', () => {
  const issues = issuesOf(() =>
    parseConfig({
      intervall: 5,
      decision: { analyzer: 'magic' },
      scoring: { signals: { cross_cloud: { degraded: 7 } } },
    }),
  );
  assert.equal(issues.length, 3, issues.join('\n'));
});

test('levels that do not rise are rejected', () => {
  const issues = issuesOf(() => parseConfig({ scoring: { levels: { region_failover: 12 } } }));
  assert.match(issues[0], /thresholds must rise/);
});

test('secrets come from the environment, and a missing variable names itself', () => {
  const ok = parseConfig({ store: { url: 'postgres://phoenix:${DB_PASSWORD}@db/phoenix' } }, 'f', {
    DB_PASSWORD: 's3cret',
  });
  assert.equal(ok.store.url, 'postgres://phoenix:s3cret@db/phoenix');
  const fallback = parseConfig({ store: { path: '${STORE_PATH:-/var/lib/phoenix.db}' } }, 'f', {});
  assert.equal(fallback.store.path, '/var/lib/phoenix.db');
  const issues = issuesOf(() => parseConfig({ store: { url: '${DB_PASSWORD}' } }, 'f', {}));
  assert.match(issues[0], /^store\.url: environment variable DB_PASSWORD is not set/);
});

test('phoenix validate prints one line per problem and exits 2, never a stack trace', async () => {
  const bad = file('bad.yaml', 'intervall: 30s\nscoring:\n  signals:\n    eks_nodes: { error: 9 }\n');
  const result = await runCli(['validate', bad]);
  assert.equal(result.code, 2);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 2, result.stderr);
  assert.ok(lines.every((l) => l.startsWith(bad + ': ')));
  assert.doesNotMatch(result.stderr, /at .*\(.*:\d+:\d+\)/);
});

test('phoenix validate explains an unparsable, a missing and an unreadable file', async () => {
  const broken = file('broken.yaml', 'a: [\n');
  const r1 = await runCli(['validate', broken]);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /line \d+, column \d+: YAML syntax error/);
  const r2 = await runCli(['validate', join(dir, 'absent.yaml')]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /file not found/);
  const r3 = await runCli(['validate', dir]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /is a directory/);
  if (process.getuid?.() !== 0) {
    const locked = file('locked.yaml', 'interval: 30s\n');
    chmodSync(locked, 0o000);
    const r4 = await runCli(['validate', locked]);
    assert.match(r4.stderr, /permission denied/);
  }
});

test('phoenix validate --json reports validity as data', async () => {
  const good = await runCli(['validate', '--offline', 'examples/phoenix.yaml', '--json']);
  assert.equal(good.code, 0);
  assert.deepEqual(JSON.parse(good.stdout), { file: 'examples/phoenix.yaml', valid: true, problems: [] });
});

test('phoenix validate also checks every runbook step against its step type', async () => {
  const bad = file(
    'runbook-typo.yaml',
    [
      'runbooks:',
      '  dr_failover:',
      '    stages:',
      '      - name: promote',
      '        steps:',
      '          - { name: x, type: command, params: { comand: "true" } }',
    ].join('\n'),
  );
  const result = await runCli(['validate', bad]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /runbooks\.dr_failover\.stages\.0\.steps\.0\.params: unknown key\(s\) comand for a command step/,
  );
  const json = await runCli(['validate', bad, '--json']);
  assert.equal(JSON.parse(json.stdout).valid, false);
});

test('aws_health.dns_servers takes IPs with an optional port, and names the entry that is not one', () => {
  const health = (dns_servers: string[]) => ({ context: { aws_health: { dns_servers } } });
  assert.doesNotThrow(() => parseConfig(health(['10.0.0.2', '127.0.0.1:5300', '[fd00::2]:53', 'fd00::2'])));
  const issues = issuesOf(() => parseConfig(health(['10.0.0.2', 'dns.example.com'])));
  assert.equal(issues.length, 1, issues.join('\n'));
  assert.match(
    issues[0],
    /context\.aws_health\.dns_servers\.1: expected an IP address, optionally with a port/,
  );
});
