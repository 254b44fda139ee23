import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCli, waitFor } from './helpers/ha.js';
import { haScenarios, lease, world } from './helpers/ha-world.js';

// The HA scenarios on a SQLite file (the same run on PostgreSQL in ha.postgres.test.ts),
// and what only SQLite has: a second controller on the file without --standby exits.
const app = haScenarios('sqlite');

test('a second controller on the same SQLite file exits at once with a clear error, and phoenix failover beside the leader refuses, naming it', async () => {
  const w = world(app, 'sqlite');
  try {
    const first = w.start();
    await waitFor(
      () => `the first controller to lead (${first.output()})`,
      async () => (await lease(w)) !== undefined,
    );
    // Beside it, at once: a second controller, a read from another process, and an
    // operator's failover from the CLI. The second exits, the read works, the failover refuses.
    const cli = (...args: string[]) => {
      const started = startCli([...args, '--config', w.config], {
        ...process.env,
        PHX_LISTEN: '127.0.0.1:0',
      });
      w.children.push(started.child);
      return started;
    };
    const second = w.start();
    const list = cli('runs', '--json');
    const failover = cli('failover', '--yes', '--reason', 'operator test');
    assert.equal(await second.exit, 2, second.output());
    assert.match(
      second.output(),
      /another controller holds this store: .*:\d+:.* \(fencing token 1\).*--standby/,
    );
    assert.equal(await list.exit, 0, list.output());
    assert.equal(await failover.exit, 2, failover.output());
    const holder = (await lease(w))!;
    assert.equal(holder.pid, first.child.pid);
    assert.ok(
      failover
        .output()
        .includes(
          `a controller leads this store: ${holder.holder} (fencing token ${holder.token}); phoenix failover would act beside it`,
        ),
      failover.output(),
    );
    assert.doesNotMatch(failover.output(), /\n\s+at /, 'no stack trace');
    const triggers = await w.store.rows<{ trigger: string }>('SELECT trigger FROM runbook_runs');
    assert.ok(!triggers.some((r) => r.trigger === 'cli'), 'the CLI started no run');
  } finally {
    await w.close();
  }
});
