import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { runCli } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'phoenix-ranges-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const OUT_OF_RANGE: Array<[yaml: string, path: string, allowed: RegExp]> = [
  ['interval: 0', 'interval', /allowed 0\.1s to 1d/],
  ['interval: -5', 'interval', /allowed 0\.1s to 1d/],
  ['interval: 25d', 'interval', /allowed 0\.1s to 1d/],
  ['interval: 1e308', 'interval', /allowed 0\.1s to 1d/],
  ['decision: { cooldown: -1 }', 'decision.cooldown', /allowed 0s to 30d/],
  ['store: { retention: -5s }', 'store.retention', /allowed 1h to 3650d/],
  ['probes: { timeout: 1e308 }', 'probes.timeout', /allowed 0\.01s to 10m/],
  ["server: { listen: '127.0.0.1:99999' }", 'server.listen', /allowed 0 \(any free port\) to 65535/],
  ["server: { trust_proxy: ['10.0.0.0/33'] }", 'server.trust_proxy.0', /a CIDR \(e\.g\. 10\.0\.0\.0\/8\)/],
  ["server: { trust_proxy: ['ingress.local'] }", 'server.trust_proxy.0', /an IP address/],
];

for (const [yaml, path, allowed] of OUT_OF_RANGE) {
  test(`"${yaml}" is refused with one line naming ${path} and the allowed range`, () => {
    const name = file(`${path}.yaml`, yaml + '\n');
    assert.throws(
      () => loadConfig(name),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message.split('\n').length, 1, error.message);
        assert.ok(error.message.startsWith(`${name}: ${path}: `), error.message);
        assert.match(error.message, allowed);
        return true;
      },
    );
  });
}

test('values inside the ranges are accepted', () => {
  const config = loadConfig(
    file(
      'fine.yaml',
      "interval: 1s\ndecision: { cooldown: 0 }\nstore: { retention: 30d }\nserver: { listen: '0.0.0.0:65535' }\n",
    ),
  );
  assert.equal(config.interval_s, 1);
  assert.equal(config.decision.cooldown_s, 0);
});

test('phoenix validate exits 2 on an out-of-range interval and on a YAML alias bomb, naming the file', async () => {
  const zero = file('zero.yaml', 'interval: 0\n');
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
  }
  const bomb = file('bomb.yaml', levels.join('\n') + '\n');
  const [interval, aliases] = await Promise.all([runCli(['validate', zero]), runCli(['validate', bomb])]);
  assert.equal(interval.code, 2, interval.stderr);
  assert.equal(interval.stderr.trim(), `${zero}: interval: 0 s is out of range; allowed 0.1s to 1d`);
  assert.equal(aliases.code, 2, aliases.stderr);
  assert.match(aliases.stderr, new RegExp(`^${bomb}: YAML aliases expand too far`));
  assert.doesNotMatch(aliases.stderr, /\n\s+at /, 'no stack trace');
});
