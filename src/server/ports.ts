import type {
  Analysis,
  ChangeRecord,
  Decision,
  Level,
  ScoreResult,
  SignalSnapshot,
  SignalStatus,
  Topology,
} from '../core/index.js';
import type { FailbackReadinessView } from '../runbook/failback-readiness.js';
import type { RunDecision } from '../runbook/index.js';

/**
 * What the HTTP server needs from the rest of the controller, as small
 * interfaces. The controller, the history store and the runbook engine are
 * adapted to these in deps.ts, so the server depends on no module's internals.
 * Times are Unix seconds.
 */

/** DR readiness as the dashboard and /metrics show it. */
export interface DrReadiness {
  ready: boolean;
  reasons: string[];
  /** Where the verdict came from: the analysis, or the dr_site signal alone. */
  source: 'analysis' | 'signal' | 'unknown';
  /** The site whose readiness this is: DR while the primary serves, the old primary while another site does. */
  standby?: 'primary' | 'dr';
}

/** One pass of the runbooks' pre-flight checks (the same as `phoenix plan`), as the server shows it. */
export interface RunbookReadinessReport {
  /** Unix seconds when the pass started. */
  checked_at: number;
  duration_ms?: number;
  /** Every configured runbook passed every check. */
  ready: boolean;
  runbooks: Array<{
    runbook: string;
    ok: boolean;
    /** Problems with the runbook itself (invalid parameters, unreadable file). */
    problems: string[];
    steps: Array<{
      stage: string;
      step: string;
      type: string;
      ok: boolean;
      checks: Array<{
        check: string;
        ok: boolean;
        detail: string;
        warn?: boolean;
        /** Set by the logical cut-over's schema drift check. */
        drift?: { breaking_tables: number; warning_tables: number };
      }>;
    }>;
  }>;
}

/** The latest runbook readiness pass; undefined until the first one ends. */
export interface RunbookReadinessView {
  latest(): RunbookReadinessReport | undefined;
}

/** One finished cycle, as the controller reports it. */
export interface CycleRecord {
  at: number;
  signals: SignalSnapshot;
  score: ScoreResult;
  analysis?: Analysis;
  decision: Decision;
  /** How long the analyzer took, when it ran. */
  analysis_ms?: number;
  /** How long the whole cycle took. */
  duration_ms?: number;
  /** Why this cycle ran: `schedule`, `alertmanager: ...`, `api`. */
  reason?: string;
  /** The serving site the cycle probed (site state), when known. */
  site?: 'primary' | 'secondary' | 'dr';
}

/** One point of the score chart. */
export interface HistoryPoint {
  at: number;
  score: number;
  level: Level;
  signals: Record<string, { status: SignalStatus; weight: number }>;
}

export interface StatusView {
  latest(): CycleRecord | undefined;
  /** Points with `at >= since`, oldest first. */
  history(since: number, limit?: number): HistoryPoint[] | Promise<HistoryPoint[]>;
  /** The latest decisions, newest first. */
  decisions(limit: number): Decision[] | Promise<Decision[]>;
}

/** Lets the server hear about cycles as they finish (metrics, live dashboard). */
export interface CycleEvents {
  /** Returns a function that stops listening. */
  onCycle(listener: (record: CycleRecord) => void): () => void;
}

/** `cleared`: the run ended early on purpose (a stage found nothing left to do). */
export type RunStatus =
  'pending' | 'running' | 'waiting_approval' | 'succeeded' | 'failed' | 'aborted' | 'cleared';
export type StageStatus =
  'pending' | 'running' | 'waiting_approval' | 'succeeded' | 'failed' | 'skipped' | 'aborted';

export interface StageView {
  name: string;
  status: StageStatus;
  started_at?: number;
  finished_at?: number;
  /** Whether a person must approve before the stage runs. */
  approval?: boolean;
  approved_by?: string;
  error?: string;
  /** How the stage reads, e.g. `succeeded with 1 failed step (continued)`; absent when it is just its status. */
  label?: string;
}

export interface RunView {
  id: string;
  runbook: string;
  status: RunStatus;
  started_at: number;
  finished_at?: number;
  dry_run?: boolean;
  /** Who or what started it: a decision, a person, a drill. */
  trigger?: string;
  reason?: string;
  abort_requested_by?: string;
  stages: StageView[];
  /** The controller's decision that started it (when, why, the evidence); absent for an operator's run. */
  decision?: RunDecision;
  /** Measured recovery time and data lost, once known. */
  rto_s?: number;
  rpo_s?: number;
  error?: string;
  /**
   * Stages that did nothing: every step that ran failed, each under continue_on_error. A run may succeed
   * with some (a fence left pending); a required stage among them fails it. Absent when none.
   */
  stages_without_effect?: string[];
}

export type RunActionResult =
  { ok: true; run: RunView } | { ok: false; reason: 'not_found' | 'conflict'; message: string };

export interface RunControl {
  /** Newest first. */
  list(limit: number): RunView[] | Promise<RunView[]>;
  get(id: string): RunView | undefined | Promise<RunView | undefined>;
  /** Approves the stage the run waits on. */
  approve(id: string, by: string): RunActionResult | Promise<RunActionResult>;
  abort(id: string, by: string): RunActionResult | Promise<RunActionResult>;
  /** The run's evidence report (src/report) as data and as a self-contained HTML page. */
  report?(id: string): Promise<{ model: unknown; html: string } | undefined>;
}

export interface CycleTrigger {
  /** Runs a cycle out of schedule; concurrent requests share one cycle. */
  runCycleNow(reason: string): unknown;
}

export interface ChangeRecorder {
  record(change: ChangeRecord): unknown;
}

/** Whether the store took its latest write (a full disk, a store that cannot be reached). */
export interface StoreHealthView {
  health(): { writable: boolean; reason?: string };
  /** Asks the store something cheap; rejects when it does not answer. */
  ping?(): Promise<unknown>;
}

/** Signed webhook requests already accepted, kept where a restart (or another controller) finds them. */
export interface SeenSignatures {
  /** Records a signature; false when it was recorded before (a replay). Forgets those older than keep_s. */
  remember(signature: string, now: number, keep_s: number): Promise<boolean>;
}

/** The site state (src/lifecycle, docs/lifecycle.md) as the server shows it. */
export interface SiteStateView {
  state: string;
  active_site: string;
  target_site: string | null;
  old_primary: {
    site: string;
    fence: 'fence_pending' | 'fenced';
    writable: boolean | null;
    reachable: boolean | null;
    checked_at: number | null;
    fenced_at: number | null;
  } | null;
  since: number;
  run_id: string | null;
  /** What the operator does next, in one line. */
  next_action: string;
  /** A pause of automation in force (phoenix pause): decisions recorded, no runbook started. */
  paused: { at: number; until: number; by: string; reason: string } | null;
}

/** Everything the server can be given; each part is optional and its routes answer 503 without it. */
export interface ServerDeps {
  status?: StatusView;
  events?: CycleEvents;
  runs?: RunControl;
  trigger?: CycleTrigger;
  changes?: ChangeRecorder;
  /** The controller's store: /readyz is not ready while it cannot write. */
  store?: StoreHealthView;
  /** Where the webhook's replay guard keeps the signatures it accepted; in memory (this process) without it. */
  signatures?: SeenSignatures;
  /** The runbooks' pre-flight checks, re-run every `runbooks.readiness_interval`. */
  readiness?: RunbookReadinessView;
  /** Whether the way back is open (issue 13: src/runbook/failback-readiness.ts). */
  failback?: FailbackReadinessView;
  /** Scheduled drills (src/drills): the newest successful one and the newest measured RTO. */
  drills?: {
    lastSuccess(): Promise<{ at: number; rto_s: number | null; rto_partial?: boolean } | undefined>;
  };
  /** Seconds between scheduled cycles (for staleness and the dashboard). */
  interval_s?: number;
  /** The clock, in Unix seconds; tests pass their own. */
  now?: () => number;
  /** Who leads (the one controller that acts) and what this process is. */
  leader?: () => { role: 'leader' | 'follower'; self: string; leader?: string; token?: number };
  /** The sites' clouds and regions (the config's topology), so the dashboard names them: "Azure eastus2". */
  topology?: Topology;
  /** Which site serves and where the old primary stands. */
  site?: {
    current(): Promise<SiteStateView>;
    /** Pauses automation for `seconds` (operate role), or lifts the pause (`seconds` null). */
    setPause?(seconds: number | null, by: string, reason: string): Promise<SiteStateView>;
  };
}
