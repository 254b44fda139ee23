import type { Analysis, RecommendedAction } from '../core/index.js';
import type { AnalysisInput, Analyzer } from './analyzer.js';

/**
 * The seed's naive rule, kept as the baseline the README compares against:
 * score >= 11 means DR, 8-10 a region failover where a secondary region exists,
 * 4-7 self-healing. Nothing else is consulted.
 */
export class ThresholdAnalyzer implements Analyzer {
  readonly name = 'threshold';
  readonly gated = false;

  wants(): boolean {
    return true;
  }

  async analyze(input: AnalysisInput): Promise<Analysis> {
    const { score, level } = input.score;
    let action: RecommendedAction = 'none';
    if (level === 'dr_failover') action = 'trigger_dr';
    else if (level === 'region_failover') action = input.topology.secondary ? 'region_failover' : 'self_heal';
    else if (level === 'self_heal') action = 'self_heal';
    return {
      analyzer: this.name,
      root_cause: 'not analyzed: the threshold rule reads only the score',
      root_cause_category: 'unknown',
      confidence: 'high',
      recommended_action: action,
      reasoning: `score ${score} is at level ${level}`,
      evidence: [
        { source: 'score', item: String(score), weight: 0, says: `health score ${score} (level ${level})` },
      ],
    };
  }
}
