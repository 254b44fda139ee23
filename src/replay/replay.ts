import type { Decision, IncidentContext, SignalSnapshot } from '../core/index.js';
import type { PhoenixConfig } from '../config/index.js';
import type { Analyzer } from '../analysis/index.js';
import { DecisionEngine } from '../decision/index.js';
import type { Scenario } from './scenario.js';
import { evaluate, type Evaluation } from './evaluate.js';

/** One decided action in the replay output contract. */
export interface ReplayDecision {
  at: number;
  action: string;
  score: number;
  category: string;
  confidence: string;
  reason: string;
}

export interface ReplayResult extends Evaluation {
  scenario: string;
  file: string;
  decisions: ReplayDecision[];
  /** Every cycle's decision, for `--verbose` and the tests; not part of the NDJSON contract. */
  cycles: Decision[];
  /** The first cycle that saw a failure (a level above none, or users losing the site), if any. */
  first_failing_at?: number;
}

/** Merges a step into the snapshot in force: listed signals and context parts replace, the rest carry forward. */
function applyStep(
  signals: SignalSnapshot,
  context: IncidentContext,
  step: { signals?: SignalSnapshot; context?: IncidentContext },
): void {
  Object.assign(signals, step.signals ?? {});
  for (const [key, value] of Object.entries(step.context ?? {})) {
    if (key === 'metrics')
      context.metrics = { ...(context.metrics ?? {}), ...(value as Record<string, number>) };
    else (context as Record<string, unknown>)[key] = value;
  }
}

export interface ReplayOptions {
  config: PhoenixConfig;
  /** Builds a fresh analyzer per scenario, so no state leaks between scenarios. */
  analyzer: () => Analyzer;
}

/**
 * Feeds a scenario to the decision core cycle by cycle on a virtual clock that
 * starts at 0 and advances by the scenario's interval.
 */
export async function replayScenario(scenario: Scenario, options: ReplayOptions): Promise<ReplayResult> {
  const config: PhoenixConfig = {
    ...options.config,
    interval_s: scenario.interval,
    topology: scenario.topology,
  };
  const engine = new DecisionEngine(config, options.analyzer(), scenario.topology);
  const signals: SignalSnapshot = {};
  const context: IncidentContext = {};
  const decisions: ReplayDecision[] = [];
  const cycles: Decision[] = [];
  let nextStep = 0;
  let previousAction = 'none';
  for (let now = 0; now <= scenario.duration + 1e-9; now += scenario.interval) {
    while (nextStep < scenario.steps.length && scenario.steps[nextStep].at <= now + 1e-9) {
      applyStep(signals, context, scenario.steps[nextStep]);
      nextStep++;
    }
    const { decision } = await engine.cycle({
      now,
      signals: structuredClone(signals),
      context: structuredClone(context),
    });
    cycles.push(decision);
    // The contract lists actions other than none; a held action is listed once, when it starts.
    if (decision.action !== 'none' && decision.action !== previousAction) {
      decisions.push({
        at: now,
        action: decision.action,
        score: decision.score,
        category: decision.category,
        confidence: decision.confidence,
        reason: decision.reason,
      });
    }
    previousAction = decision.action;
  }
  const failing = cycles.find((c) => c.level !== 'none' || c.analysis?.impact?.users === 'total');
  return {
    first_failing_at: failing?.at,
    scenario: scenario.name,
    file: scenario.file,
    decisions,
    cycles,
    ...evaluate(scenario, decisions),
  };
}
