import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FencedError, leaseStoreOn } from '../src/store/index.js';
import { LifecycleRefusal, SiteStateStore } from '../src/lifecycle/index.js';
import { BACKENDS, cutShort, takeWhenExpired } from './helpers/stores.js';

/**
 * The site state on both stores: every transition is saved with a journal line naming its
 * cause, survives a restart (a second connection reads it), and after a takeover only the new
 * leader's fencing token may move it.
 */
for (const backend of BACKENDS) {
  const name = backend.name;

  test(`${name}: the site state and its journal survive a restart, each change with its cause`, async () => {
    const { db, reopen, close } = await backend.open();
    try {
      const sites = new SiteStateStore(db);
      assert.equal((await sites.current()).state, 'primary_active');
      await sites.apply(
        { type: 'run_started', runbook: 'dr_failover', run_id: 'r1' },
        { by: 'runbook:r1', reason: 'started' },
        100,
      );
      await sites.apply(
        {
          type: 'run_finished',
          runbook: 'dr_failover',
          run_id: 'r1',
          status: 'succeeded',
          fence: 'fence_pending',
        },
        { by: 'runbook:r1', reason: 'succeeded' },
        101,
      );
      // A repeat changes nothing and is not journaled twice.
      const again = await sites.apply(
        { type: 'run_started', runbook: 'dr_failover', run_id: 'r1' },
        { by: 'runbook:r1', reason: 'resumed' },
        102,
      );
      assert.equal(again.changed, false);
      await assert.rejects(
        sites.apply(
          { type: 'run_started', runbook: 'reprotect', run_id: 'r2' },
          { by: 'operator:ann', reason: 'x' },
          103,
        ),
        LifecycleRefusal,
      );

      const restarted = new SiteStateStore(await reopen());
      const state = await restarted.current();
      assert.equal(state.state, 'dr_active');
      assert.equal(state.active_site, 'dr');
      assert.equal(state.old_primary?.fence, 'fence_pending');
      assert.deepEqual(
        (await restarted.events()).map((e) => [e.from_state, e.to_state, e.caused_by, e.reason]),
        [
          ['primary_active', 'failing_over', 'runbook:r1', 'started'],
          ['failing_over', 'dr_active (old primary: fence_pending)', 'runbook:r1', 'succeeded'],
        ],
      );
      if (restarted.db !== db) await restarted.db.close();
    } finally {
      await close();
    }
  });

  test(`${name}: after a takeover the old leader's token may not move the site state; the new leader's may`, async () => {
    const { db, close } = await backend.open();
    try {
      const lease = leaseStoreOn(db);
      const sites = new SiteStateStore(db);
      const a = await lease.acquire('host:1:a', 60);
      await sites.apply(
        { type: 'run_started', runbook: 'dr_failover', run_id: 'r1' },
        { by: 'runbook:r1', reason: 'started' },
        100,
        a.lease.token,
      );
      await cutShort(lease, 'host:1:a');
      const b = await takeWhenExpired(lease, 'host:2:b', 30);
      const finish = {
        type: 'run_finished',
        runbook: 'dr_failover',
        run_id: 'r1',
        status: 'succeeded',
        fence: 'fence_pending',
      } as const;
      await assert.rejects(
        sites.apply(finish, { by: 'runbook:r1', reason: 'late' }, 101, a.lease.token),
        FencedError,
      );
      assert.equal((await sites.current()).state, 'failing_over', 'the refused write left nothing behind');
      await sites.apply(finish, { by: 'runbook:r1', reason: 'resumed by the new leader' }, 102, b.token);
      await sites.apply(
        { type: 'fence_held', run_id: 'f1' },
        { by: 'controller', reason: 'fence held' },
        103,
        b.token,
      );
      const state = await sites.current();
      assert.equal(state.state, 'dr_active');
      assert.equal(state.old_primary?.fence, 'fenced');
      assert.deepEqual(
        (await sites.events()).map((e) => [e.to_state, e.token]),
        [
          ['failing_over', a.lease.token],
          ['dr_active (old primary: fence_pending)', b.token],
          ['dr_active (old primary: fenced)', b.token],
        ],
      );
    } finally {
      await close();
    }
  });
}
