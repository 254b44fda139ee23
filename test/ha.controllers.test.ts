import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCli, waitFor } from './helpers/ha.js';
import { haScenarios, lease, world } from './helpers/ha-world.js';

// The HA scenarios on a SQLite file (the same run on PostgreSQL in ha.postgres.test.ts),
// and what only SQLite has: a second controller on the file without --standby exits.
const app = haScenarios('sqlite');

test('a second controller on the same SQLite file exits at once with a clear error', async () => {
  const w = world(app, 'sqlite');
  try {
    const first = w.start();
    await waitFor(
      () => `the first controller to lead (${first.output()})`,
      async () => (await lease(w)) !== undefined,
    );
    const second = w.start();
    assert.equal(await second.exit, 2, second.output());
    assert.match(
      second.output(),
      /another controller holds this store: .*:\d+:.* \(fencing token 1\).*--standby/,
    );
    // The first keeps working, and other processes still read the store.
    const status = await new Promise<number>((resolve) => {
      const cli = startCli(['runs', '--json', '--config', w.config], {
        ...process.env,
        PHX_LISTEN: '127.0.0.1:0',
      });
      w.children.push(cli.child);
      void cli.exit.then(resolve);
    });
    assert.equal(status, 0);
    assert.equal((await lease(w))?.pid, first.child.pid);
  } finally {
    await w.close();
  }
});
