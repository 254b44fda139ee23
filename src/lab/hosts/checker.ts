import type { Effect } from './site.js';

/** The lease row as the harness read it (through the store's Unix socket), and when. */
export interface LeaseSample {
  /** Unix seconds of the read. */
  at: number;
  holder: string;
  token: number;
  expires_at: number;
}

/** What one scenario left behind: the DR site's log, the lease over time and the journal. */
export interface History {
  /** The primary was really down (a failover is due) or healthy (none may start). */
  outage: boolean;
  /** The steps a failover must complete, each exactly once. */
  steps: string[];
  effects: Effect[];
  leases: LeaseSample[];
  runs: Array<{ id: string; status: string }>;
  /** When the fault that stopped the leader from acting began (a kill, a pause, a partition from the store). */
  leaderLostAt?: number;
}

export interface Verdict {
  /** Steps whose effect (the `done` at the DR site) arrived more than once. */
  duplicate_effects: number;
  /** Steps of a due failover whose effect never arrived (or a run that did not succeed). */
  lost_steps: number;
  /** Times the lease's fencing token, or the token of the effects in arrival order, went backwards. */
  token_regressions: number;
  /** Tokens under which more than one controller host acted. */
  shared_tokens: number;
  /** Runs started or effects received while the primary was healthy. */
  false_failovers: number;
  /** The longest time no controller could act, in seconds. */
  max_leaderless_s: number;
  /** What broke, in words, one line each. */
  violations: string[];
}

function countDone(effects: Effect[]): Map<string, Effect[]> {
  const done = new Map<string, Effect[]>();
  for (const e of effects.filter((x) => x.phase === 'done'))
    done.set(e.step, [...(done.get(e.step) ?? []), e]);
  return done;
}

/**
 * Tokens must never go backwards: in the lease as read over time, nor in the effects as they arrived.
 * Nor may a token come back under another holder: a store that lost the lease's latest update (a
 * failover to a standby that had not received it) hands out again a token that was already used.
 */
function regressions(h: History, violations: string[]): number {
  let count = 0;
  const holderOf = new Map<number, string>();
  for (const l of h.leases) {
    const host = l.holder.split(':')[0];
    const earlier = holderOf.get(l.token);
    if (earlier !== undefined && earlier !== l.holder) {
      count++;
      violations.push(`lease: token ${l.token} held by ${earlier}, then again by ${l.holder} (${host})`);
    }
    holderOf.set(l.token, l.holder);
  }
  for (const [what, tokens] of [
    ['lease', h.leases.map((l) => l.token)],
    ['effects', h.effects.map((e) => e.token)],
  ] as const) {
    let highest = -Infinity;
    for (const [i, token] of tokens.entries()) {
      if (token < highest) {
        count++;
        violations.push(`${what}: token ${token} after ${highest} (entry ${i})`);
      }
      highest = Math.max(highest, token);
    }
  }
  return count;
}

/**
 * The longest stretch without an acting leader: a span of reads with no live lease, and from
 * the moment the fault took the leader out until a newer token is read (the old leader's lease
 * may look live meanwhile, but its holder cannot act).
 */
export function leaderlessSeconds(leases: LeaseSample[], leaderLostAt?: number): number {
  let longest = 0;
  let since: number | undefined;
  for (const l of leases) {
    const live = l.expires_at > l.at;
    if (!live && since === undefined) since = l.at;
    if (live && since !== undefined) {
      longest = Math.max(longest, l.at - since);
      since = undefined;
    }
  }
  if (leaderLostAt !== undefined) {
    const before = leases.filter((l) => l.at <= leaderLostAt).at(-1)?.token ?? 0;
    const next = leases.find((l) => l.at > leaderLostAt && l.token > before && l.expires_at > l.at);
    const until = next?.at ?? leases.at(-1)?.at ?? leaderLostAt;
    longest = Math.max(longest, until - leaderLostAt);
  }
  return Math.round(longest * 100) / 100;
}

/** Reads a scenario's history and says which invariants held. Pure: the same history, the same verdict. */
export function check(h: History): Verdict {
  const violations: string[] = [];
  const done = countDone(h.effects);
  let duplicate_effects = 0;
  for (const [step, list] of done)
    if (list.length > 1) {
      duplicate_effects++;
      violations.push(
        `${step} took effect ${list.length} times: ${list.map((e) => `${e.host} token ${e.token} attempt ${e.attempt}`).join(', ')}`,
      );
    }
  let lost_steps = 0;
  if (h.outage) {
    for (const step of h.steps.filter((s) => !done.has(s))) {
      lost_steps++;
      violations.push(`${step} never took effect`);
    }
    if (!h.runs.some((r) => r.status === 'succeeded'))
      violations.push(`no run succeeded: ${JSON.stringify(h.runs)}`);
  }
  const byToken = new Map<number, Set<string>>();
  for (const e of h.effects) byToken.set(e.token, (byToken.get(e.token) ?? new Set()).add(e.host));
  const shared = [...byToken].filter(([, hosts]) => hosts.size > 1);
  for (const [token, hosts] of shared)
    violations.push(`token ${token} acted from ${[...hosts].join(' and ')}`);
  const false_failovers = h.outage ? 0 : h.runs.length > 0 || h.effects.length > 0 ? 1 : 0;
  if (false_failovers)
    violations.push(`the primary was healthy, yet ${h.runs.length} run(s) and ${h.effects.length} effect(s)`);
  return {
    duplicate_effects,
    lost_steps,
    token_regressions: regressions(h, violations),
    shared_tokens: shared.length,
    false_failovers,
    max_leaderless_s: leaderlessSeconds(h.leases, h.leaderLostAt),
    violations,
  };
}
