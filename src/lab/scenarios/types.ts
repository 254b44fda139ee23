import type { RunReport } from '../../runbook/index.js';
import type { DrillSession } from '../drill-session.js';

/** What a scenario's watch saw after its fault. */
export interface ScenarioOutcome {
  /** Fault → DR serving writes through DNS, when a failover ran. */
  rtoS: number | null;
  report?: RunReport;
  /** Rows and objects lost at the failover, when the scenario counted them itself (before the way back). */
  lost?: { rows: number; objects: number };
  /** Scenario failback: the way back's figures. */
  failback?: {
    reprotect_s: number | null;
    failback_rto_s: number | null;
    failback_rows_lost: number | null;
    failback_objects_lost: number | null;
  };
}

export interface ScenarioLimits {
  timeoutS: number;
  watchCycles: number;
}

/** One drill scenario: a fault, and what to wait for after it. Adding one touches its module and the list. */
export interface DrillScenarioModule {
  /** Injects the fault (the session's onset is set just before). */
  inject(session: DrillSession): Promise<void>;
  watch(session: DrillSession, limits: ScenarioLimits): Promise<ScenarioOutcome>;
  /** Whether the DR site's data is counted against what the primary acknowledged. */
  countsLoss: boolean;
}
