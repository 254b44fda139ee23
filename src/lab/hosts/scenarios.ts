import type { FaultContext, Scenario } from './nemesis.js';

const now = () => Date.now() / 1000;

async function cutBetween(ctx: FaultContext, a: string, b: string): Promise<void> {
  await ctx.lab.fabric.drop(a, b);
  await ctx.lab.fabric.drop(b, a);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** The nemesis's schedule: each fault once, during a real outage of the primary or while it is healthy. */
export const SCENARIOS: Scenario[] = [
  {
    name: 'leader-store-partition',
    outage: true,
    storeReachable: true,
    what: 'the leader cut off from the store (both directions) mid-failover; it still reaches everything else',
    async fault(ctx) {
      const leader = ctx.leader();
      await cutBetween(ctx, leader.host, 'store');
      const at = now();
      await ctx.newerLeader(leader.token);
      return at;
    },
  },
  {
    name: 'leader-store-asymmetric',
    outage: true,
    storeReachable: true,
    what: "the store's packets to the leader dropped (nftables, one direction) mid-failover: its writes land, it never hears back",
    async fault(ctx) {
      const leader = ctx.leader();
      await ctx.lab.fabric.drop('store', leader.host);
      const at = now();
      await ctx.newerLeader(leader.token);
      return at;
    },
  },
  {
    name: 'leader-primary-partition',
    outage: false,
    storeReachable: true,
    what: 'the leader cut off from the primary only (its own network trouble) while the agents see the primary healthy',
    async fault(ctx) {
      await cutBetween(ctx, ctx.leader().host, 'primary');
      await ctx.pause(2 * ctx.ttl_s + 4 * ctx.interval_s);
      return undefined;
    },
  },
  {
    name: 'follower-isolated',
    outage: true,
    storeReachable: true,
    what: 'a follower cut off from everything (its link down) through the failover',
    async fault(ctx) {
      await ctx.lab.fabric.link(ctx.followers()[0].host, false);
      await ctx.runSucceeded();
      return undefined;
    },
  },
  {
    name: 'store-restart',
    outage: true,
    storeReachable: false,
    what: 'the store stopped (pg_ctl -m immediate) mid-failover and started again 2 × TTL later',
    async fault(ctx) {
      const leader = ctx.leader();
      await ctx.lab.store.stop();
      const at = now();
      await ctx.pause(2 * ctx.ttl_s);
      await ctx.lab.store.start();
      await ctx.newerLeader(leader.token);
      return at;
    },
  },
  {
    name: 'leader-sigstop',
    outage: true,
    storeReachable: true,
    what: 'the leader paused (SIGSTOP) mid-failover until another leads, then woken (SIGCONT)',
    async fault(ctx) {
      const leader = ctx.leader();
      signal(leader.process.child.pid!, 'SIGSTOP');
      const at = now();
      await ctx.newerLeader(leader.token);
      await ctx.pause(ctx.ttl_s);
      signal(leader.process.child.pid!, 'SIGCONT');
      return at;
    },
  },
  {
    name: 'leader-sigkill',
    outage: true,
    storeReachable: true,
    what: 'the leader SIGKILLed mid-failover',
    async fault(ctx) {
      const leader = ctx.leader();
      signal(leader.process.child.pid!, 'SIGKILL');
      const at = now();
      await ctx.newerLeader(leader.token);
      return at;
    },
  },
  {
    name: 'store-failover',
    outage: true,
    storeReachable: false,
    what: "the store's primary lost mid-failover, its synchronous standby promoted and the store's name moved to it",
    async fault(ctx) {
      const { store } = ctx.lab;
      const at = now();
      await store.failover();
      ctx.reached('store_promoted');
      await ctx.leaseLiveSince(at);
      ctx.reached('lease_live_again');
      // HA again for what follows: a new synchronous standby on the lost primary's host.
      await store.rebuildStandby('synchronous');
      ctx.reached('standby_rebuilt');
      return undefined;
    },
  },
  {
    name: 'healthy-leader-isolated',
    outage: false,
    storeReachable: true,
    what: 'the leader cut off from everything (its link down) while the primary is healthy',
    async fault(ctx) {
      const leader = ctx.leader();
      await ctx.lab.fabric.link(leader.host, false);
      const at = now();
      await ctx.newerLeader(leader.token);
      await ctx.pause(ctx.ttl_s);
      return at;
    },
  },
];

/**
 * What an asynchronous standby loses (the bench's --async-standby, not part of the schedule: its
 * violations are the point). Replication is cut (nftables), the leader is killed so that a takeover
 * (a new fencing token) and the steps after it are committed on the primary alone, then the primary
 * is lost and the standby promoted: the lease comes back with an older token, which the next leader
 * gets again. The same cut with a synchronous standby stops every commit instead (nothing is lost;
 * nothing moves until the standby is back or removed from synchronous_standby_names).
 */
export const ASYNC_STANDBY_LOSS: Scenario = {
  name: 'store-failover-async',
  outage: true,
  storeReachable: false,
  what: 'an asynchronous standby cut off from the primary, a takeover committed on the primary alone, then the primary lost and the standby promoted',
  async fault(ctx) {
    const { store, fabric } = ctx.lab;
    const standby = store.standbyHost;
    if (!standby)
      throw new Error('the lab has no standby: start it with standby synchronous or asynchronous');
    await store.setStandbyMode('asynchronous');
    await cutBetween(ctx, store.host, standby);
    const leader = ctx.leader();
    signal(leader.process.child.pid!, 'SIGKILL');
    await ctx.newerLeader(leader.token);
    ctx.reached('takeover_on_primary_alone');
    // The new leader acts under its token; none of it reaches the standby.
    await ctx.pause(2 * ctx.interval_s);
    const at = now();
    await store.failover();
    await fabric.heal(['primary']);
    ctx.reached('store_promoted');
    await ctx.leaseLiveSince(at);
    ctx.reached('lease_live_again');
    await store.rebuildStandby('synchronous');
    ctx.reached('standby_rebuilt');
    return undefined;
  },
};

/**
 * The CI's short schedule: the leader cut off from the primary while it is healthy, then from the
 * store during an outage, run on the same three controllers (see `RunOptions.controllers`): the
 * healthy one first, as it leaves every controller alive and no run behind. The bench runs them all,
 * each on controllers of its own.
 */
export const SHORT_SCHEDULE = ['leader-primary-partition', 'leader-store-partition'];
