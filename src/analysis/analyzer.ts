import type {
  Analysis,
  IncidentContext,
  Level,
  ScoreResult,
  SignalSnapshot,
  SiteRole,
  Topology,
} from '../core/index.js';
import type { DecisionConfig } from '../config/index.js';

/** One past cycle as the analyzer sees it. */
export interface CycleObservation {
  at: number;
  signals: SignalSnapshot;
  score: number;
  level: Level;
  /** The metrics gathered that cycle, for baselines (traffic surges and drops). */
  metrics?: Record<string, number>;
}

export interface AnalysisInput {
  now: number;
  signals: SignalSnapshot;
  context: IncidentContext;
  topology: Topology;
  /** The site that serves users (the site state's active site); absent: the primary. */
  site?: SiteRole;
  score: ScoreResult;
  /** Cycles inside the history window, oldest first, the current one last. */
  history: CycleObservation[];
  /** The last cycle before now at level none: the baseline for traffic and error rates. */
  baseline?: CycleObservation;
  decision: DecisionConfig;
  interval_s: number;
}

/**
 * Turns what was observed into an analysis. Analyzers never act: the policy
 * gate reads the analysis and decides. `gated: false` marks the naive baseline,
 * whose recommendation is taken as the decision without the policy's checks.
 */
export interface Analyzer {
  readonly name: string;
  readonly gated: boolean;
  /** Whether this analyzer wants to be consulted at this level (an LLM is only asked at high levels). */
  wants(level: Level): boolean;
  analyze(input: AnalysisInput): Promise<Analysis>;
}
