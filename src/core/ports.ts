import type { IncidentContext, SignalSnapshot, SiteRole } from './types.js';

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
  /**
   * `activeSite`: the site that serves users, from the durable site state; a source whose probes
   * follow the active site (probes.sites) probes that site, any other source ignores it.
   */
  collect(now: number, activeSite?: SiteRole): Promise<SignalSnapshot>;
}
