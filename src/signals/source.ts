import { Agent } from 'undici';
import pLimit from 'p-limit';
import type { SignalSnapshot, Signal, SiteRole } from '../core/index.js';
import type { PhoenixConfig } from '../config/index.js';
import type { ProbeConfig, ProbesConfig } from '../config/sections/probes.js';
import { runProbe, type Probe, type ProbeRunContext } from './probe.js';
import { httpChecksProbe, httpProbe } from './http.js';
import { externalUptimeProbe } from './uptime.js';
import { postgresReplicationProbe } from './postgres.js';
import { kubernetesNodesProbe } from './kubernetes.js';
import { ec2ApiProbe } from './ec2.js';
import { dnsProbe, tcpProbe, tlsProbe } from './net.js';
import { SiteProbeSets, type Probes } from './site-source.js';

export const DEFAULT_PROBE_TIMEOUT_S = 10;
export const DEFAULT_CONCURRENCY = 256;

/** Builds one probe from its configuration entry. */
export function buildProbe(
  name: string,
  config: ProbeConfig,
  defaultTimeout_s = DEFAULT_PROBE_TIMEOUT_S,
): Probe {
  const timeout = config.timeout ?? defaultTimeout_s;
  switch (config.type) {
    case 'http_checks':
      return httpChecksProbe(name, config, timeout);
    case 'external_uptime':
      return externalUptimeProbe(name, config, timeout);
    case 'postgres_replication':
      return postgresReplicationProbe(name, config, timeout);
    case 'kubernetes_nodes':
      return kubernetesNodesProbe(name, config, timeout);
    case 'ec2_api':
      return ec2ApiProbe(name, config, timeout);
    case 'http':
      return httpProbe(name, config, timeout);
    case 'tcp':
      return tcpProbe(name, config, timeout);
    case 'dns':
      return dnsProbe(name, config, timeout);
    case 'tls':
      return tlsProbe(name, config, timeout);
  }
}

export interface ProbeSetOptions {
  /** Most checks in flight at once across all probes. */
  concurrency?: number;
}

/**
 * Every configured probe behind the `SignalSource` port. Probes run in
 * parallel, each against its own deadline, sharing one concurrency cap and
 * one keep-alive connection pool per origin.
 */
export class ProbeSet implements Probes {
  private readonly shared: Omit<ProbeRunContext, 'signal'>;
  private readonly stopping = new AbortController();
  private readonly verified: Agent;
  private readonly insecure: Agent;

  constructor(
    readonly probes: Probe[],
    options: ProbeSetOptions = {},
  ) {
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    // Connections per origin follow the cap: many targets often share one host.
    const agentOptions = { connections: concurrency, keepAliveTimeout: 60_000, pipelining: 1 };
    this.verified = new Agent(agentOptions);
    this.insecure = new Agent({ ...agentOptions, connect: { rejectUnauthorized: false } });
    this.shared = { limit: pLimit(concurrency), http: { verified: this.verified, insecure: this.insecure } };
  }

  get names(): string[] {
    return this.probes.map((p) => p.name);
  }

  /** The longest any collect can take: the slowest probe's deadline. */
  get deadline_s(): number {
    return Math.max(0, ...this.probes.map((p) => p.timeout_s));
  }

  private prepared?: Promise<void>;

  /** Loads every probe's libraries once; a failure here shows up when the probe runs. */
  prepare(): Promise<void> {
    this.prepared ??= Promise.all(this.probes.map((p) => p.prepare?.().catch(() => undefined))).then(
      () => undefined,
    );
    return this.prepared;
  }

  async collect(_now: number): Promise<SignalSnapshot> {
    await this.prepare();
    const results = await Promise.all(
      this.probes.map((probe) => runProbe(probe, this.shared, this.stopping.signal)),
    );
    return Object.fromEntries(this.probes.map((probe, i) => [probe.name, results[i]]));
  }

  /** Runs one probe by signal name; undefined when no probe has that name. */
  async collectOne(name: string): Promise<Signal | undefined> {
    await this.prepare();
    const probe = this.probes.find((p) => p.name === name);
    return probe ? runProbe(probe, this.shared, this.stopping.signal) : undefined;
  }

  /** Abandons probes in flight and closes connection pools. */
  async close(): Promise<void> {
    this.stopping.abort(new Error('closing'));
    await Promise.allSettled(this.probes.map((p) => p.close?.()));
    await Promise.allSettled([this.verified.close(), this.insecure.close()]);
  }
}

/** The probes section of a loaded configuration as a `SignalSource` (as written: the primary's when they follow the site). */
export function createSignalSource(
  config: PhoenixConfig,
  signals: ProbesConfig['signals'] = config.raw.probes?.signals,
): ProbeSet {
  const section = (config.raw.probes ?? {}) as ProbesConfig;
  const timeout = section.timeout ?? DEFAULT_PROBE_TIMEOUT_S;
  const probes = Object.entries(signals ?? {}).map(([name, entry]) => buildProbe(name, entry, timeout));
  return new ProbeSet(probes, { concurrency: section.concurrency });
}

/**
 * The controller's probes: one probe set, or with `probes.sites` one per site that can serve,
 * each collecting from the site the controller says serves (docs/lifecycle.md).
 */
export function createSiteSignalSource(config: PhoenixConfig): Probes {
  if (!config.site_probes) return createSignalSource(config);
  const sets: Partial<Record<SiteRole, ProbeSet>> = {};
  for (const [site, signals] of Object.entries(config.site_probes))
    sets[site as SiteRole] = createSignalSource(config, signals);
  return new SiteProbeSets({ ...sets, primary: sets.primary ?? createSignalSource(config) });
}

/** Scheduling settings from the probes section. */
export function probeSchedule(config: PhoenixConfig): {
  jitter_s: number;
  concurrency: number;
  timeout_s: number;
} {
  const section = (config.raw.probes ?? {}) as ProbesConfig;
  return {
    jitter_s: section.jitter ?? 0,
    concurrency: section.concurrency ?? DEFAULT_CONCURRENCY,
    timeout_s: section.timeout ?? DEFAULT_PROBE_TIMEOUT_S,
  };
}
