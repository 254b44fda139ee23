import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, leaderlessSeconds, type History, type LeaseSample } from './checker.js';
import type { Effect } from './site.js';

const STEPS = ['fence-old', 'promote', 'switch-dns'];

function effect(
  at: number,
  phase: Effect['phase'],
  step: string,
  host: string,
  token: number,
  attempt = 1,
): Effect {
  return { at, phase, step, attempt, host, token, run: 'run-1' };
}

/** A lease read every second from t=0 to `until`, held by `holder` with `token`, renewed to 2 s ahead. */
function held(from: number, until: number, holder: string, token: number): LeaseSample[] {
  return Array.from({ length: until - from + 1 }, (_, i) => ({
    at: from + i,
    holder,
    token,
    expires_at: from + i + 2,
  }));
}

/** The failover as it should go: ctl-a starts, is killed in promote, ctl-b takes over and finishes. */
function cleanTakeover(): History {
  return {
    outage: true,
    steps: STEPS,
    effects: [
      effect(1, 'start', 'fence-old', 'ctl-a', 1),
      effect(1.5, 'done', 'fence-old', 'ctl-a', 1),
      effect(2, 'start', 'promote', 'ctl-a', 1),
      effect(6, 'start', 'promote', 'ctl-b', 2, 2),
      effect(7, 'done', 'promote', 'ctl-b', 2, 2),
      effect(8, 'start', 'switch-dns', 'ctl-b', 2),
      effect(8.5, 'done', 'switch-dns', 'ctl-b', 2),
    ],
    leases: [...held(0, 3, 'ctl-a:1:x', 1), ...held(6, 10, 'ctl-b:2:y', 2)],
    runs: [{ id: 'run-1', status: 'succeeded' }],
    leaderLostAt: 3,
  };
}

test('a takeover that resumes the failover, every step taking effect once, passes every invariant', () => {
  const verdict = check(cleanTakeover());
  assert.deepEqual(verdict.violations, []);
  assert.equal(
    verdict.duplicate_effects + verdict.lost_steps + verdict.token_regressions + verdict.false_failovers,
    0,
  );
  assert.equal(verdict.max_leaderless_s, 3, 'from the kill at 3 s to the new token read at 6 s');
});

test('a stale leader whose step lands after its successor acted is a duplicate effect and a token regression', () => {
  const h = cleanTakeover();
  h.effects.push(effect(9, 'done', 'promote', 'ctl-a', 1));
  const verdict = check(h);
  assert.equal(verdict.duplicate_effects, 1);
  assert.equal(verdict.token_regressions, 1);
  assert.match(
    verdict.violations.join('\n'),
    /promote took effect 2 times: ctl-b token 2 attempt 2, ctl-a token 1/,
  );
});

test('a step that never took effect is lost, and a healthy period with any run is a false failover', () => {
  const h = cleanTakeover();
  h.effects = h.effects.filter((e) => e.step !== 'switch-dns');
  h.runs = [{ id: 'run-1', status: 'running' }];
  assert.equal(check(h).lost_steps, 1);
  assert.match(check(h).violations.join('\n'), /no run succeeded/);
  const healthy: History = {
    ...cleanTakeover(),
    outage: false,
    effects: [],
    runs: [{ id: 'run-1', status: 'running' }],
  };
  assert.equal(check(healthy).false_failovers, 1);
  assert.equal(check(healthy).lost_steps, 0, 'nothing is due while the primary is healthy');
});

test('two hosts acting under one fencing token, and a lease token read going backwards, are reported', () => {
  const h = cleanTakeover();
  h.effects.splice(1, 0, effect(1.2, 'start', 'fence-old', 'ctl-c', 1));
  h.leases.push({ at: 11, holder: 'ctl-a:1:x', token: 1, expires_at: 13 });
  const verdict = check(h);
  assert.equal(verdict.shared_tokens, 1);
  assert.match(verdict.violations.join('\n'), /token 1 acted from ctl-a and ctl-c/);
  assert.equal(verdict.token_regressions, 1);
});

test('leaderless time counts spans with no live lease as well as a lost leader until a newer token', () => {
  const expired: LeaseSample[] = [
    ...held(0, 2, 'a', 1),
    { at: 3, holder: 'a', token: 1, expires_at: 2.5 },
    { at: 4, holder: 'a', token: 1, expires_at: 2.5 },
    ...held(5, 6, 'b', 2),
  ];
  assert.equal(leaderlessSeconds(expired), 2);
  assert.equal(leaderlessSeconds(expired, 1), 4, 'lost at 1 s, token 2 read at 5 s');
  assert.equal(leaderlessSeconds(held(0, 5, 'a', 1), 2), 3, 'no newer leader ever: until the last read');
});

test('a store failover that lost the latest lease update shows as the token read going back and handed out again', () => {
  const h = cleanTakeover();
  // The promoted standby had only token 1 (ctl-a's), then gave token 2 to ctl-c: ctl-b had acted under it.
  h.leases.push({ at: 11, holder: 'ctl-a:1:x', token: 1, expires_at: 4 }, ...held(12, 13, 'ctl-c:3:z', 2));
  const verdict = check(h);
  assert.equal(verdict.token_regressions, 2);
  assert.match(verdict.violations.join('\n'), /token 2 held by ctl-b:2:y, then again by ctl-c:3:z/);
});
