import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'phoenix-drill-validate-'));

test('phoenix validate warns about each step a drill would skip, with the fix, and still calls the file valid', async () => {
  const file = join(dir, 'runbooks.yaml');
  writeFileSync(
    file,
    [
      'runbooks:',
      '  dr_failover:',
      '    stages:',
      '      - name: prepare',
      '        steps:',
      '          - { name: undeclared, type: command, params: { command: "true" } }',
      '          - { name: declared, type: command, params: { command: "true", drill: skip } }',
      '          - { name: rehearsed, type: command, params: { command: "true", drill: "echo drill" } }',
      '      - name: app',
      '        steps:',
      '          - { name: promote-standby, type: database, params: { action: promote, standby: "postgresql://127.0.0.1:1/app", max_lag: 30s } }',
      '          - name: scale-up',
      '            type: kubernetes',
      '            params: { action: scale, deployment: web, replicas: 3, cluster: { server: "https://127.0.0.1:1", token: t } }',
      '      - name: verify',
      '        steps:',
      '          - { name: check, type: verify, params: { checks: [{ url: "http://127.0.0.1:1/healthz" }] } }',
    ].join('\n'),
  );
  const result = await runCli(['validate', file]);
  assert.equal(result.code, 0, result.stderr);
  const warnings = result.stderr.split('\n').filter((l) => l.includes('warning (drill)'));
  assert.equal(warnings.length, 2, result.stderr);
  assert.match(
    warnings[0],
    /runbooks\.dr_failover\.stages\[0\]\.steps\[0\] \(undeclared\): .*add drill: skip \| run \| "<command>"/,
  );
  assert.match(
    warnings[1],
    /stages\[1\]\.steps\[0\] \(promote-standby\): a streaming standby is read-only: give drill: \{ scratch_server/,
  );
  const json = JSON.parse((await runCli(['validate', file, '--json'])).stdout) as {
    valid: boolean;
    warnings: Array<{ path: string; message: string }>;
  };
  assert.equal(json.valid, true);
  assert.deepEqual(
    json.warnings.map((w) => w.path),
    [
      'runbooks.dr_failover.stages[0].steps[0] (undeclared)',
      'runbooks.dr_failover.stages[1].steps[0] (promote-standby)',
    ],
  );
});
