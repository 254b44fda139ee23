import type { RunReport } from '../../runbook/index.js';
import type { DrillSession, SiteTransition } from '../drill-session.js';
import type { Progress } from '../lab.js';
import type { LabState } from '../state.js';

/** Scenario failback: where the way back's time went (the drill's report carries them as they are). */
export interface FailbackDiagnostics {
  /** From BIND answering the primary until the writer's caching resolver did (0 to TTL + 1 s, plus its own second). */
  failback_client_dns_lag_s?: number | null;
  /** The random wait before the failback, which puts BIND's switch at a random point of the cache's period. */
  failback_cache_phase_wait_s?: number;
  /** Each step's seconds (first attempt to its end), by step name. */
  reprotect_steps?: Record<string, number>;
  failback_steps?: Record<string, number>;
  /** How late the drill process's timers ran over the failback (it hosts the writer and the runbook). */
  failback_event_loop_lag_ms?: { p99_ms: number; max_ms: number };
  /** Whether the lab's reverse object replicator ran between the reprotect and the failback. */
  reverse_replicator?: boolean;
}

/** What a scenario's watch saw after its fault. */
export interface ScenarioOutcome {
  /** Fault → DR serving writes through DNS as clients see it (their caching resolver), when a failover ran. */
  rtoS: number | null;
  /** The same, asking the authoritative server (BIND): the switch without clients' caching. */
  rtoAuthoritativeS?: number | null;
  report?: RunReport;
  /** What the scenario found beyond the common figures (e.g. which DNS path switched traffic); in the report as is. */
  findings?: Record<string, unknown>;
  /**
   * Rows and objects lost at the failover, when the scenario counted them itself (before the way back);
   * `objectAcks`: when (performance.now()) the primary acknowledged each lost object.
   */
  lost?: { rows: number; objects: number; objectAcks?: number[] };
  /** Scenario primary-returns: the old primary back while DR serves (docs/lifecycle.md). */
  lifecycle?: {
    active_site: string;
    old_primary_fenced: boolean;
    /** From the old primary answering again until it refused writes; null when it never refused. */
    old_primary_writable_s: number | null;
    /** Writes the stale client got acknowledged by the old primary after its return. */
    old_primary_writes_after_return: number;
    /** Whether on-call was paged that it was writable. */
    old_primary_paged: boolean;
    interval_s: number;
    /** Decisions of the cycles that probed and decided for DR while it served, by action. */
    decisions_while_dr_served: Record<string, number>;
  };
  /** Scenario failback: the way back's figures. */
  failback?: FailbackDiagnostics & {
    reprotect_s: number | null;
    failback_rto_s: number | null;
    failback_rto_authoritative_s?: number | null;
    failback_rows_lost: number | null;
    failback_objects_lost: number | null;
    /** Seconds from resuming object replication S3 → Blob after the failback until a new primary object reached Blob. */
    forward_objects_s: number | null;
    /** The site that serves after the way back, from the site state (docs/lifecycle.md): `primary`. */
    active_site: string;
    /** Every state the site state went through in the drill, in order (primary_active → … → primary_active). */
    site_states: string[];
    /** The site journal's transitions, each with who or what caused it. */
    site_transitions: SiteTransition[];
    /** Decisions of the cycles that probed and decided for DR while it served, by action. */
    decisions_while_dr_served: Record<string, number>;
  };
}

/** What a scenario starts beside the lab before the controller runs; closed when the drill ends. */
export interface ScenarioStage {
  /** Changes the controller's lab configuration (the object `labConfig` builds) before it is loaded. */
  configure(config: Record<string, unknown>): void;
  close(): Promise<void>;
}

export interface ScenarioLimits {
  timeoutS: number;
  watchCycles: number;
  /** Scenario failback: run the lab's reverse object replicator between reprotect and failback (default). */
  reverseReplicator?: boolean;
}

/** One drill scenario: a fault, and what to wait for after it. Adding one touches its module and the list. */
export interface DrillScenarioModule {
  /** Optional: stand-ins of its own and a changed configuration, set up before the controller starts. */
  prepare?(state: LabState, progress: Progress): Promise<ScenarioStage>;
  /** Injects the fault (the session's onset is set just before). */
  inject(session: DrillSession): Promise<void>;
  watch(session: DrillSession, limits: ScenarioLimits): Promise<ScenarioOutcome>;
  /** Whether the DR site's data is counted against what the primary acknowledged. */
  countsLoss: boolean;
}
