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
 * The CI's short schedule: the leader cut off from the primary while it is healthy, then from the
 * store during an outage, run on the same three controllers (see `RunOptions.controllers`): the
 * healthy one first, as it leaves every controller alive and no run behind. The bench runs them all,
 * each on controllers of its own.
 */
export const SHORT_SCHEDULE = ['leader-primary-partition', 'leader-store-partition'];
