import type { IncidentContext, SignalSnapshot } from './types.js';

/**
 * The interfaces adapters implement and the controller consumes. The core
 * defines them; adapters depend on them, never the other way round.
 */

/** Gathers the incident context (provider feeds, metrics, logs, changes) for one cycle. */
export interface ContextSource {
  /** `now` is seconds on the caller's clock. Never rejects: a failed source is reported as `available: false`. */
  gather(now: number): Promise<IncidentContext>;
}

/** Runs every configured probe once and returns the snapshot. */
export interface SignalSource {
  collect(now: number): Promise<SignalSnapshot>;
}
