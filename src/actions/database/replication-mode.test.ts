import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../config/index.js';

const runbook = (action: string) => ({
  stages: [{ name: 'db', steps: [{ name: 'open-dr-db', type: 'database', params: { action } }] }],
});

test('runbooks.replication names the only database action that may open the DR database', () => {
  for (const [mode, action] of [
    ['logical', 'cutover'],
    ['physical', 'promote'],
    ['azure_replica', 'azure_promote'],
  ])
    assert.doesNotThrow(() => parseConfig({ runbooks: { replication: mode, dr_failover: runbook(action) } }));
  try {
    parseConfig({ runbooks: { replication: 'logical', dr_failover: runbook('promote') } });
    assert.fail('a pg_promote of a logical subscriber must be refused');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const text = error.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    assert.match(
      text,
      /runbooks\.dr_failover\.stages\.0\.steps\.0\.params\.action: .*logical.*"cutover", not "promote".*physical/,
    );
  }
  assert.throws(() => parseConfig({ runbooks: { replication: 'streaming' } }), ConfigError);
});
