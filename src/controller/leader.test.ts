import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderElector } from './leader.js';
import type { Lease, LeaseStore } from '../store/index.js';

/** A lease kept in memory with the store's rules: free, expired or ours is taken; a new holder gets the next token. */
class MemoryLease implements LeaseStore {
  lease?: Lease;
  renewals = 0;
  private now = () => Date.now() / 1000;
  async acquire(holder: string, ttl_s: number) {
    const l = this.lease;
    if (!l || l.expires_at <= this.now() || l.holder === holder) {
      const token = l && l.holder === holder && l.expires_at > this.now() ? l.token : (l?.token ?? 0) + 1;
      this.lease = { holder, token, expires_at: this.now() + ttl_s, acquired_at: this.now() };
      return { acquired: true, lease: this.lease };
    }
    return { acquired: false, lease: l };
  }
  async renew(holder: string, token: number, ttl_s: number) {
    const l = this.lease;
    if (!l || l.holder !== holder || l.token !== token || l.expires_at <= this.now()) return false;
    l.expires_at = this.now() + ttl_s;
    this.renewals++;
    return true;
  }
  async release(holder: string, token: number) {
    if (this.lease?.holder === holder && this.lease.token === token) this.lease = undefined;
  }
  async current() {
    return this.lease;
  }
}

test('a leader whose take-over outlasts 0.8 × TTL keeps renewing and stays leader with its token', async () => {
  const store = new MemoryLease();
  const demotions: string[] = [];
  let tookOver!: () => void;
  const takeOverDone = new Promise<void>((resolve) => (tookOver = resolve));
  const elector = new LeaderElector({
    lease: store,
    ttl_s: 0.3,
    onDemoted: (reason) => demotions.push(reason),
  });
  // The take-over (restoring state, resuming runs) waits for renewals that only a
  // schedule independent of it can make: three of them, a whole TTL and more.
  elector.onElected(async () => {
    const giveUpAt = Date.now() + 3_000;
    while (store.renewals < 3 && Date.now() < giveUpAt) await new Promise((r) => setTimeout(r, 10));
    tookOver();
  });
  await elector.start();
  await takeOverDone;
  assert.ok(store.renewals >= 3, `only ${store.renewals} renewals while taking over`);
  assert.deepEqual(demotions, []);
  assert.equal(elector.currentToken(), 1);
  await elector.stop();
});
