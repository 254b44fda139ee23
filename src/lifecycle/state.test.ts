import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  INITIAL_STATE,
  LifecycleRefusal,
  nextAction,
  transition,
  type SiteEvent,
  type SiteState,
} from './state.js';

const started = (runbook: string, run_id: string): SiteEvent => ({ type: 'run_started', runbook, run_id });
const finished = (
  runbook: string,
  run_id: string,
  status: string,
  fence?: 'fenced' | 'fence_pending',
): SiteEvent => ({
  type: 'run_finished',
  runbook,
  run_id,
  status,
  ...(fence ? { fence } : {}),
});

/** Applies events in order from the initial state, one second apart. */
function walk(...events: SiteEvent[]): SiteState {
  return events.reduce((s, e, i) => transition(s, e, 100 + i), INITIAL_STATE);
}

test('a DR failover moves primary_active → failing_over → dr_active, the old primary fence_pending when its fence could not reach it', () => {
  const failing = walk(started('dr_failover', 'r1'));
  assert.equal(failing.state, 'failing_over');
  assert.equal(failing.active_site, 'primary', 'the primary still serves until the run succeeds');
  assert.equal(failing.target_site, 'dr');
  const after = walk(
    started('dr_failover', 'r1'),
    finished('dr_failover', 'r1', 'succeeded', 'fence_pending'),
  );
  assert.equal(after.state, 'dr_active');
  assert.equal(after.active_site, 'dr');
  assert.deepEqual(after.old_primary, {
    site: 'primary',
    fence: 'fence_pending',
    writable: null,
    reachable: null,
    checked_at: null,
    fenced_at: null,
  });
});

test('a failover whose fence held leaves the old primary fenced at once', () => {
  const after = walk(started('dr_failover', 'r1'), finished('dr_failover', 'r1', 'succeeded', 'fenced'));
  assert.equal(after.old_primary?.fence, 'fenced');
  assert.equal(after.old_primary?.fenced_at, 101);
});

test('a region failover ends in secondary_active with the primary region to fence', () => {
  const after = walk(
    started('region_failover', 'r1'),
    finished('region_failover', 'r1', 'succeeded', 'fenced'),
  );
  assert.equal(after.state, 'secondary_active');
  assert.equal(after.active_site, 'secondary');
  assert.equal(after.old_primary?.site, 'primary');
});

for (const status of ['failed', 'aborted', 'cleared']) {
  test(`a failover run that ends ${status} returns to the site that still serves`, () => {
    const after = walk(started('dr_failover', 'r1'), finished('dr_failover', 'r1', status));
    assert.equal(after.state, 'primary_active');
    assert.equal(after.active_site, 'primary');
    assert.equal(after.old_primary, null);
  });
}

test('fence_pending → fenced when the fence holds; a check records reachable and writable', () => {
  const dr = walk(started('dr_failover', 'r1'), finished('dr_failover', 'r1', 'succeeded', 'fence_pending'));
  const seen = transition(dr, { type: 'fence_checked', reachable: true, writable: true }, 200);
  assert.deepEqual(
    [seen.old_primary?.reachable, seen.old_primary?.writable, seen.old_primary?.checked_at],
    [true, true, 200],
  );
  assert.match(nextAction(seen), /writable: split-brain risk/);
  const held = transition(seen, { type: 'fence_held', run_id: 'f1' }, 201);
  assert.equal(held.old_primary?.fence, 'fenced');
  assert.equal(held.old_primary?.writable, false);
  assert.equal(held.state, 'dr_active');
});

test('fence_pending refuses reprotect and failback with the reason; fenced lets them start', () => {
  const dr = walk(started('dr_failover', 'r1'), finished('dr_failover', 'r1', 'succeeded', 'fence_pending'));
  for (const runbook of ['reprotect', 'failback'])
    assert.throws(
      () => transition(dr, started(runbook, 'r2'), 200),
      (e: unknown) => e instanceof LifecycleRefusal && /not fenced yet \(fence_pending\)/.test(e.message),
    );
  const held = transition(dr, { type: 'fence_held', run_id: null }, 201);
  assert.equal(transition(held, started('reprotect', 'r2'), 202).state, 'reprotecting');
});

test('the way back: dr_active → reprotecting → reverse_protected → failing_back → primary_active', () => {
  const s = walk(
    started('dr_failover', 'r1'),
    finished('dr_failover', 'r1', 'succeeded', 'fenced'),
    started('reprotect', 'r2'),
  );
  assert.equal(s.state, 'reprotecting');
  const protectedBack = transition(s, finished('reprotect', 'r2', 'succeeded'), 110);
  assert.equal(protectedBack.state, 'reverse_protected');
  assert.match(nextAction(protectedBack), /ready to fail back/);
  const back = transition(protectedBack, started('failback', 'r3'), 111);
  assert.equal(back.state, 'failing_back');
  assert.equal(back.target_site, 'primary');
  assert.equal(back.active_site, 'dr');
  const done = transition(back, finished('failback', 'r3', 'succeeded'), 112);
  assert.deepEqual(done, { ...INITIAL_STATE, since: 112, run_id: 'r3' });
});

test('a failed reprotect returns to dr_active; a failed failback to reverse_protected', () => {
  const fenced = walk(started('dr_failover', 'r1'), finished('dr_failover', 'r1', 'succeeded', 'fenced'));
  const reprotecting = transition(fenced, started('reprotect', 'r2'), 110);
  assert.equal(transition(reprotecting, finished('reprotect', 'r2', 'failed'), 111).state, 'dr_active');
  const ready = transition(reprotecting, finished('reprotect', 'r2', 'succeeded'), 111);
  const back = transition(ready, started('failback', 'r3'), 112);
  assert.equal(transition(back, finished('failback', 'r3', 'aborted'), 113).state, 'reverse_protected');
});

test('nothing fails over "back": a DR failover while DR serves is refused, as is reprotect with nothing failed over', () => {
  const dr = walk(started('dr_failover', 'r1'), finished('dr_failover', 'r1', 'succeeded', 'fenced'));
  assert.throws(() => transition(dr, started('dr_failover', 'r2'), 200), /already serves/);
  assert.throws(() => transition(INITIAL_STATE, started('reprotect', 'r2'), 200), /state is primary_active/);
  assert.throws(() => transition(INITIAL_STATE, { type: 'fence_held', run_id: null }, 200), /no old primary/);
});

test('repeats and runs outside the lifecycle change nothing; another run finishing does not end this one', () => {
  const failing = walk(started('dr_failover', 'r1'));
  assert.equal(transition(failing, started('dr_failover', 'r1'), 300), failing, 'a resumed run');
  assert.equal(transition(failing, finished('dr_failover', 'other', 'succeeded'), 300), failing);
  assert.equal(transition(INITIAL_STATE, started('self_heal', 's1'), 300), INITIAL_STATE);
});

test('an operator sets the state by hand; a site declared serving out of band leaves the old primary fence_pending', () => {
  const set = transition(
    INITIAL_STATE,
    { type: 'operator_set', state: 'dr_active', active_site: 'dr', reason: 'failed over by hand' },
    300,
  );
  assert.equal(set.state, 'dr_active');
  assert.equal(set.active_site, 'dr');
  assert.equal(set.old_primary?.fence, 'fence_pending');
  const home = transition(
    set,
    { type: 'operator_set', state: 'primary_active', active_site: 'primary', reason: 'x' },
    301,
  );
  assert.equal(home.old_primary, null);
});
