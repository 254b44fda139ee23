import type { Signal, SignalSnapshot, SiteRole } from '../core/index.js';
import type { SignalSource } from '../core/ports.js';
import type { ProbeSet } from './source.js';

/** What the controller and the API need of a signal source: the snapshot, one probe, the names, closing. */
export interface Probes extends SignalSource {
  readonly names: string[];
  readonly deadline_s: number;
  prepare(): Promise<void>;
  collectOne(name: string, activeSite?: SiteRole): Promise<Signal | undefined>;
  close(): Promise<void>;
}

/**
 * Probes that follow the active site (probes.sites, docs/lifecycle.md): one probe set per site that
 * can serve, each built from the same probe definitions with that site's values. `collect` probes
 * the set of the site the caller says serves; the primary's set when it says nothing. The snapshot
 * keeps the signal names, so the score and the decision core read it as they always did.
 */
export class SiteProbeSets implements Probes {
  constructor(private readonly sets: Partial<Record<SiteRole, ProbeSet>> & { primary: ProbeSet }) {}

  /** The probe set for a serving site; the primary's when no set was built for it. */
  forSite(site: SiteRole | undefined): ProbeSet {
    return (site && this.sets[site]) || this.sets.primary;
  }

  get names(): string[] {
    return this.sets.primary.names;
  }

  get deadline_s(): number {
    return Math.max(...Object.values(this.sets).map((s) => s.deadline_s));
  }

  async prepare(): Promise<void> {
    await Promise.all(Object.values(this.sets).map((s) => s.prepare()));
  }

  collect(now: number, activeSite?: SiteRole): Promise<SignalSnapshot> {
    return this.forSite(activeSite).collect(now);
  }

  collectOne(name: string, activeSite?: SiteRole): Promise<Signal | undefined> {
    return this.forSite(activeSite).collectOne(name);
  }

  async close(): Promise<void> {
    await Promise.allSettled(Object.values(this.sets).map((s) => s.close()));
  }
}

/**
 * Probes that can be built again under a running controller (a secret read late or rotated, in a probe's
 * URL, header or DSN): from the next collect on, the new set probes; the set it replaces finishes what it
 * is running (a cycle in flight, an API request) and is closed then.
 */
export class ReplaceableProbes implements Probes {
  private readonly running = new Map<Probes, Set<Promise<unknown>>>();

  constructor(private current: Probes) {}

  get names(): string[] {
    return this.current.names;
  }

  get deadline_s(): number {
    return this.current.deadline_s;
  }

  prepare(): Promise<void> {
    return this.current.prepare();
  }

  collect(now: number, activeSite?: SiteRole): Promise<SignalSnapshot> {
    return this.track((p) => p.collect(now, activeSite));
  }

  collectOne(name: string, activeSite?: SiteRole): Promise<Signal | undefined> {
    return this.track((p) => p.collectOne(name, activeSite));
  }

  replace(next: Probes): void {
    const old = this.current;
    this.current = next;
    const busy = [...(this.running.get(old) ?? [])];
    this.running.delete(old);
    void Promise.allSettled(busy).then(() => old.close());
  }

  /** Closes the current set (abandoning what it runs, as a shutdown does); a replaced one closes on its own. */
  async close(): Promise<void> {
    await this.current.close();
  }

  private track<T>(run: (probes: Probes) => Promise<T>): Promise<T> {
    const probes = this.current;
    const set = this.running.get(probes) ?? new Set<Promise<unknown>>();
    this.running.set(probes, set);
    const promise = run(probes);
    set.add(promise);
    void promise.then(
      () => set.delete(promise),
      () => set.delete(promise),
    );
    return promise;
  }
}
