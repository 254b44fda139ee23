import type { Action, Analysis, Decision, Level, ScoreResult } from '../core/index.js';
import type { DecisionConfig } from '../config/index.js';

/** What the policy remembers between cycles. */
export interface PolicyState {
  /** When the last failover (region or DR) was decided. */
  lastFailoverAt?: number;
}

export interface PolicyInput {
  now: number;
  score: ScoreResult;
  analysis: Analysis | undefined;
  /** False for the naive baseline, whose recommendation passes unchecked. */
  gated: boolean;
  config: DecisionConfig;
  state: PolicyState;
  hasSecondary: boolean;
  /** Which site serves (the caller reads the durable site state); absent: the primary. */
  site?: { active_site: string; state: string };
}

const LEVEL_RANK: Record<Level, number> = { none: 0, self_heal: 1, region_failover: 2, dr_failover: 3 };

function naive(input: PolicyInput): Decision {
  const { analysis, score, now } = input;
  const map: Record<string, Action> = {
    trigger_dr: 'dr_failover',
    region_failover: 'region_failover',
    self_heal: 'self_heal',
    escalate: 'escalate',
    none: 'none',
  };
  const action = analysis ? map[analysis.recommended_action] : 'none';
  return {
    at: now,
    action,
    score: score.score,
    level: score.level,
    category: analysis?.root_cause_category ?? 'unknown',
    confidence: analysis?.confidence ?? 'low',
    reason: analysis?.reasoning ?? `score ${score.score}, level ${score.level}`,
    blocked_by: [],
    analysis,
  };
}

/**
 * A failover moves traffic off the primary. While another site serves (after a failover, during the
 * way back) there is nothing to fail over from automatically: moving again, or "back", is the
 * deliberate reprotect and failback, started by a person.
 */
function servingElsewhere(input: PolicyInput): string | undefined {
  const site = input.site;
  if (!site || site.state === 'primary_active' || site.state === 'failing_over') return undefined;
  return `${site.active_site} serves (site state ${site.state}): no automatic failover while another site than the primary serves; the way back is reprotect then failback, run by an operator`;
}

/** Rules that hold any failover back, whatever the analysis says. */
function failoverBlocks(input: PolicyInput): string[] {
  const { config, now, state } = input;
  const blocks: string[] = [];
  const elsewhere = servingElsewhere(input);
  if (elsewhere) blocks.push(elsewhere);
  if (config.kill_switch) blocks.push('kill switch is on (decision.kill_switch)');
  for (const window of config.maintenance_windows) {
    if (now >= window.start && now < window.end) {
      blocks.push(`inside a maintenance window${window.reason ? ` (${window.reason})` : ''}`);
    }
  }
  if (state.lastFailoverAt !== undefined && now - state.lastFailoverAt < config.cooldown_s) {
    blocks.push(
      `cooldown: a failover was decided ${Math.round(now - state.lastFailoverAt)} s ago (cooldown ${config.cooldown_s} s)`,
    );
  }
  return blocks;
}

/** Even the naive baseline must not start a second failover while one is under way. */
function naiveWithCooldown(input: PolicyInput): Decision {
  const decision = naive(input);
  const { lastFailoverAt } = input.state;
  const failover = decision.action === 'dr_failover' || decision.action === 'region_failover';
  const elsewhere = failover ? servingElsewhere(input) : undefined;
  if (elsewhere)
    return {
      ...decision,
      action: 'none',
      reason: `held: ${elsewhere}. ${decision.reason}`,
      blocked_by: [elsewhere],
    };
  if (failover && lastFailoverAt !== undefined && input.now - lastFailoverAt < input.config.cooldown_s) {
    return {
      ...decision,
      action: 'none',
      reason: `a failover was already decided; holding (cooldown). ${decision.reason}`,
      blocked_by: ['cooldown'],
    };
  }
  return decision;
}

type DecisionBase = Omit<Decision, 'action' | 'reason' | 'blocked_by'>;

/**
 * The impact assessment beside the score: users' loss has been total for the failover's confirmation window.
 * Then a failover the analysis recommends may go ahead below the seed's level for it: the score measures what
 * our probes report, and green insides nobody can reach still score low. Every other rule still applies.
 */
function impactCarries(analysis: Analysis, window_s: number): boolean {
  const impact = analysis.impact;
  return impact?.users === 'total' && impact.held_s >= window_s;
}

function impactNote(input: PolicyInput, analysis: Analysis, level: string): string {
  const held = Math.round(analysis.impact?.held_s ?? 0);
  return `Users' loss has been total for ${held} s (${analysis.impact?.basis.join(', ')}); score ${input.score.score} is below the ${level} level, the impact carries it. `;
}

/** DR: the level, high confidence, a category DR can fix, a ready DR site and no active block. */
function drDecision(input: PolicyInput, analysis: Analysis, base: DecisionBase): Decision {
  const { score, config } = input;
  const belowLevel = LEVEL_RANK[score.level] < LEVEL_RANK.dr_failover;
  if (belowLevel && !impactCarries(analysis, config.confirm_window_dr_s)) {
    // The seed's levels govern: below the DR level the cheap, safe action is self-healing.
    return {
      ...base,
      action: LEVEL_RANK[score.level] >= LEVEL_RANK.self_heal ? 'self_heal' : 'none',
      reason: `score ${score.score} is below the DR level; self-healing while it lasts. ${analysis.reasoning}`,
      blocked_by: [`score ${score.score} is below the DR level`],
    };
  }
  const blocked_by: string[] = [];
  if (analysis.confidence !== 'high') blocked_by.push(`confidence is ${analysis.confidence}, DR needs high`);
  if (!config.dr_categories.includes(analysis.root_cause_category)) {
    blocked_by.push(
      `category ${analysis.root_cause_category} is not one DR can fix (${config.dr_categories.join(', ')})`,
    );
  }
  if (analysis.dr_ready && !analysis.dr_ready.ready)
    blocked_by.push(...analysis.dr_ready.reasons.map((r) => `DR site not ready: ${r}`));
  blocked_by.push(...failoverBlocks(input));
  if (blocked_by.length === 0) {
    const note = belowLevel ? impactNote(input, analysis, 'DR') : '';
    return { ...base, action: 'dr_failover', reason: note + analysis.reasoning, blocked_by };
  }
  return {
    ...base,
    action: 'escalate',
    reason: `DR recommended but held back: ${blocked_by.join('; ')}. ${analysis.reasoning}`,
    blocked_by,
  };
}

/** A region failover: a secondary region, the region-failover level and no active block. */
function regionDecision(input: PolicyInput, analysis: Analysis, base: DecisionBase): Decision {
  const { score } = input;
  const blocked_by: string[] = [];
  if (!input.hasSecondary) blocked_by.push('no secondary region in the topology');
  const belowLevel = LEVEL_RANK[score.level] < LEVEL_RANK.region_failover;
  if (belowLevel && !impactCarries(analysis, input.config.confirm_window_region_s))
    blocked_by.push(`score ${score.score} is below the region-failover level`);
  blocked_by.push(...failoverBlocks(input));
  if (blocked_by.length === 0) {
    const note = belowLevel ? impactNote(input, analysis, 'region-failover') : '';
    return { ...base, action: 'region_failover', reason: note + analysis.reasoning, blocked_by };
  }
  return {
    ...base,
    action: 'escalate',
    reason: `region failover recommended but held back: ${blocked_by.join('; ')}. ${analysis.reasoning}`,
    blocked_by,
  };
}

/**
 * The safety gate between an analysis and an action. DR needs the level, a
 * high-confidence trigger_dr for an infrastructure category we may fail over
 * for, a ready DR site and no active block; anything less becomes the most
 * drastic action that is still allowed, with the reasons recorded.
 */
export function applyPolicy(input: PolicyInput): Decision {
  if (!input.gated) return naiveWithCooldown(input);
  const { analysis, score, now, config } = input;
  const base: DecisionBase = {
    at: now,
    score: score.score,
    level: score.level,
    category: analysis?.root_cause_category ?? 'unknown',
    confidence: analysis?.confidence ?? 'low',
    analysis,
  };
  if (!analysis) {
    return {
      ...base,
      action: 'none',
      reason: `score ${score.score} (level ${score.level}); nothing to analyze`,
      blocked_by: [],
    };
  }
  const rec = analysis.recommended_action;
  const alreadyFailingOver =
    input.state.lastFailoverAt !== undefined && now - input.state.lastFailoverAt < config.cooldown_s;
  if ((rec === 'trigger_dr' || rec === 'region_failover') && alreadyFailingOver) {
    return {
      ...base,
      action: 'none',
      reason: `a failover was already decided ${Math.round(now - input.state.lastFailoverAt!)} s ago; holding (cooldown ${config.cooldown_s} s). ${analysis.reasoning}`,
      blocked_by: ['cooldown'],
    };
  }
  if (rec === 'trigger_dr') return drDecision(input, analysis, base);
  if (rec === 'region_failover') return regionDecision(input, analysis, base);
  const action: Action = rec === 'self_heal' ? 'self_heal' : rec === 'escalate' ? 'escalate' : 'none';
  return { ...base, action, reason: analysis.reasoning, blocked_by: [] };
}
