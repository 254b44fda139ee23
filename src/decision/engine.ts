import type {
  Analysis,
  Decision,
  IncidentContext,
  ScoreResult,
  SignalSnapshot,
  SiteRole,
  Topology,
} from '../core/index.js';
import type { PhoenixConfig } from '../config/index.js';
import { scoreSnapshot } from '../scoring/index.js';
import { servingSignals } from './serving.js';
import {
  applyPolicy,
  vantageQuorumDown,
  type Analyzer,
  type CycleObservation,
  type PolicyState,
} from '../analysis/index.js';

/** Which site serves users, from the durable site state (src/lifecycle); the caller reads it. */
export interface SiteInput {
  active_site: SiteRole;
  /** The lifecycle state (`primary_active`, `dr_active`, …), for the reason a failover is held back. */
  state: string;
  /** The run that caused (or is causing) the state: during failing_over / failing_back, the run moving traffic. */
  run_id?: string | null;
}

export interface CycleInput {
  /** Seconds on the caller's clock. */
  now: number;
  /** The signals of the serving site (probes.sites makes the probes follow it). */
  signals: SignalSnapshot;
  context: IncidentContext;
  /** Absent: the primary serves (no site state is kept). */
  site?: SiteInput;
}

export interface CycleResult {
  score: ScoreResult;
  analysis?: Analysis;
  decision: Decision;
}

/**
 * Everything a decision depends on besides the cycle's own input: the signal history
 * (the analysis and confirmation window), the last healthy cycle (the baseline) and the
 * policy's memory (the last failover, for the cooldown). Plain JSON, so the caller can
 * keep it in the store and hand it back after a restart or a takeover.
 */
export interface DecisionState {
  version: 1;
  history: CycleObservation[];
  lastHealthy?: CycleObservation;
  policy: PolicyState;
  /** The serving site the history describes; when another site serves, the history starts again. */
  site?: SiteRole;
}

/** No probe describes the serving site: no action can be decided for it, and the reason says how to fix that. */
function nothingDescribes(now: number, score: ScoreResult, note: string): Decision {
  return {
    at: now,
    action: 'none',
    score: score.score,
    level: score.level,
    category: 'unknown',
    confidence: 'low',
    reason: note,
    blocked_by: [note],
  };
}

/** The lifecycle states in which a run moves traffic between the sites, fencing one and opening the other. */
const MOVING_STATES = new Set(['failing_over', 'failing_back']);

/**
 * While a failover or failback run moves traffic, the site it leaves is fenced by the run on purpose
 * (its probes fail because of it) and the run owns both sites: a self_heal now would heal a site that
 * is being taken out of service, or fight the run. Held, with the run named.
 */
function heldWhileMoving(decision: Decision, site: SiteInput | undefined): Decision {
  if (decision.action !== 'self_heal' || !site || !MOVING_STATES.has(site.state)) return decision;
  const why = `${site.state}${site.run_id ? ` (run ${site.run_id})` : ''}: a run is moving traffic between the sites and fences the one it leaves; no self_heal until it ends`;
  return {
    ...decision,
    action: 'none',
    reason: `self_heal held: ${why}. ${decision.reason}`,
    blocked_by: [...decision.blocked_by, why],
  };
}

/**
 * The decision core: score → analysis → policy, with the signal history and
 * the policy's memory. It reads no clock and does no I/O of its own, so the
 * live controller and the replay drive exactly the same code.
 */
export class DecisionEngine {
  private history: CycleObservation[] = [];
  private state: PolicyState = {};
  private lastHealthy?: CycleObservation;
  private site?: SiteRole;
  readonly topology: Topology;

  constructor(
    private readonly config: PhoenixConfig,
    private readonly analyzer: Analyzer,
    topology?: Topology,
  ) {
    this.topology = topology ?? config.topology;
  }

  get analyzerName(): string {
    return this.analyzer.name;
  }

  /** A copy of the state the next decision depends on, to be kept durable by the caller. */
  snapshot(): DecisionState {
    const copy = structuredClone({
      history: this.history,
      lastHealthy: this.lastHealthy,
      policy: this.state,
    });
    return { version: 1, ...copy, ...(this.site ? { site: this.site } : {}) };
  }

  /** Continues from a snapshot taken by this or another process (a restart or a takeover). */
  restore(state: DecisionState): void {
    if (state.version !== 1) throw new Error(`decision state version ${String(state.version)} is not known`);
    const copy = structuredClone(state);
    this.history = copy.history;
    this.lastHealthy = copy.lastHealthy;
    this.state = copy.policy;
    this.site = copy.site;
  }

  async cycle(input: CycleInput): Promise<CycleResult> {
    const serving = input.site?.active_site ?? 'primary';
    if (serving !== (this.site ?? 'primary')) {
      // Another site serves: the cycles seen so far describe the site that served before, so they
      // neither confirm a failure of this one nor serve as its healthy baseline.
      this.history = [];
      this.lastHealthy = undefined;
    }
    this.site = serving === 'primary' ? undefined : serving;
    // Only the serving site's signals are scored, analyzed and kept as its history.
    const own = servingSignals(this.config, input.signals, input.site);
    const score = scoreSnapshot(own.signals, this.config.scoring);
    if (own.note) score.notes.push(own.note);
    if (own.none_describe && own.note)
      return { score, decision: nothingDescribes(input.now, score, own.note) };
    const observation: CycleObservation = {
      at: input.now,
      signals: own.signals,
      score: score.score,
      level: score.level,
      metrics: input.context.metrics,
    };
    const baseline = this.lastHealthy;
    this.history.push(observation);
    // The baseline is a cycle where users were served: a score below the action levels while every outside
    // vantage point fails (green insides nobody reaches) is no healthy traffic level to compare against.
    if (observation.level === 'none' && !vantageQuorumDown(own.signals)) this.lastHealthy = observation;
    const oldest = input.now - this.config.decision.history_window_s;
    while (this.history.length > 1 && this.history[0].at < oldest) this.history.shift();

    let analysis: Analysis | undefined;
    if (score.level !== 'none' || this.analyzer.gated) {
      if (this.analyzer.wants(score.level)) {
        analysis = await this.analyzer.analyze({
          now: input.now,
          signals: own.signals,
          context: input.context,
          topology: this.topology,
          site: serving,
          score,
          history: [...this.history],
          baseline,
          decision: this.config.decision,
          interval_s: this.config.interval_s,
        });
      }
    }
    const decision = applyPolicy({
      now: input.now,
      score,
      analysis,
      gated: this.analyzer.gated,
      config: this.config.decision,
      state: this.state,
      hasSecondary: Boolean(this.topology.secondary),
      site: input.site,
    });
    if (decision.action === 'dr_failover' || decision.action === 'region_failover')
      this.state.lastFailoverAt = input.now;
    return { score, analysis, decision: heldWhileMoving(decision, input.site) };
  }
}
