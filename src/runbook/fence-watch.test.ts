import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/index.js';
import { LifecycleRefusal, SiteStateStore } from '../lifecycle/index.js';
import { query, restartCluster, startPrimary, type PostgresCluster } from '../lab/postgres.js';
import { ADMIN_ROLE, APP_ROLE, createManagedDatabase, roleUrl } from '../lab/managed.js';
import { openDatabase, type SqliteDatabase } from '../store/index.js';
import { createRunbookDecisionSink } from './sink.js';
import { FenceWatcher, type FencePage } from './fence-watch.js';
import type { Decision } from '../core/index.js';

// The old primary as on RDS (the fence's role owns the database, no superuser). It is down
// when the failover fences it, and comes back with its data and writable, as after a regional outage.
const DB = 'shop';
let base: string;
let primary: PostgresCluster;
let db: SqliteDatabase;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'phoenix-fence-watch-'));
  primary = await startPrimary({ baseDir: join(base, 'primary') });
  await createManagedDatabase(primary, DB, 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)', {
    replication: false,
  });
  db = openDatabase(join(base, 'phoenix.db'));
});

after(async () => {
  db?.close();
  await primary?.stop();
  rmSync(base, { recursive: true, force: true });
});

function world() {
  const config = parseConfig({
    store: { driver: 'sqlite', path: join(base, 'phoenix.db') },
    runbooks: {
      dr_failover: {
        stages: [
          {
            name: 'fence',
            steps: [
              {
                name: 'fence-primary-db',
                type: 'fence',
                continue_on_error: true,
                timeout: '5s',
                params: { database: { connection: roleUrl(primary, ADMIN_ROLE, DB), app_roles: [APP_ROLE] } },
              },
            ],
          },
          { name: 'open-dr', steps: [{ name: 'open', type: 'command', params: { command: 'true' } }] },
        ],
      },
      reprotect: {
        stages: [
          { name: 'back', steps: [{ name: 'subscribe', type: 'command', params: { command: 'true' } }] },
        ],
      },
    },
  });
  const sites = new SiteStateStore(db);
  const sink = createRunbookDecisionSink({
    db,
    config,
    autoApprove: true,
    workDir: join(base, 'runs'),
    sites,
    pollMs: 50,
  });
  const pages: FencePage[] = [];
  const watcher = new FenceWatcher({
    sites,
    engine: sink.engine,
    config,
    page: async (p) => void pages.push(p),
  });
  return { sites, sink, watcher, pages };
}

test('a fence that could not reach the old primary waits: reprotect is refused, and when the primary answers again writable it is paged and fenced', async () => {
  const { sites, sink, watcher, pages } = world();
  // Down as after an outage (a clean stop: a SIGKILL leaves a postmaster.pid that can race pg_ctl on restart).
  await primary.stop();

  const failover = await sink.onDecision({ action: 'dr_failover', reason: 'regional outage' } as Decision);
  assert.equal(failover.kind, 'started');
  const report = await (failover as { handle: { done: Promise<{ status: string }> } }).handle.done;
  assert.equal(report.status, 'succeeded', 'an unreachable fence does not stop the failover');
  let state = await sites.current();
  assert.equal(state.state, 'dr_active');
  assert.equal(state.old_primary?.fence, 'fence_pending');

  await assert.rejects(
    sink.engine.start('reprotect', { trigger: 'manual' }),
    (e: unknown) => e instanceof LifecycleRefusal && /not fenced yet \(fence_pending\)/.test(e.message),
  );
  const again = await sink.onDecision({
    action: 'dr_failover',
    reason: 'the old primary still scores badly',
  } as Decision);
  assert.equal(again.kind, 'refused', 'no failover while DR serves');

  const down = await watcher.check();
  assert.equal(down.probe?.reachable, false);
  assert.equal(down.run, undefined, 'nothing to fence while it does not answer');

  primary = await restartCluster(primary.dataDir, primary.port, primary.binDir);
  await query(roleUrl(primary, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('stale client')");
  const back = await watcher.check();
  assert.equal(back.probe?.writable, true);
  assert.equal(back.run?.runbook, 'dr_failover:fence');
  assert.equal(back.run?.status, 'succeeded');
  state = await sites.current();
  assert.equal(state.old_primary?.fence, 'fenced');
  assert.deepEqual(
    pages.map((p) => [p.severity, p.resolve ?? false]),
    [
      ['critical', false],
      ['info', true],
    ],
  );
  assert.match(pages[0]!.text, /WRITABLE .*split-brain risk/);
  await assert.rejects(
    query(roleUrl(primary, APP_ROLE, DB), "INSERT INTO orders (note) VALUES ('split brain')"),
    /permission denied for database "shop"/,
  );
  assert.equal((await watcher.check()).skipped, 'no fence pending');
  const reprotect = await (await sink.engine.start('reprotect', { trigger: 'manual' })).done;
  assert.equal(reprotect.status, 'succeeded');
  assert.equal((await sites.current()).state, 'reverse_protected');
  assert.deepEqual(
    (await sites.events()).map((e) => e.to_state),
    [
      'failing_over',
      'dr_active (old primary: fence_pending)',
      'dr_active (old primary: fence_pending)',
      'dr_active (old primary: fence_pending)',
      'dr_active (old primary: fenced)',
      'reprotecting (old primary: fenced)',
      'reverse_protected (old primary: fenced)',
    ],
  );
});
