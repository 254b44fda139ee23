import type { PhoenixConfig } from '../config/index.js';
import type { Analyzer } from './analyzer.js';
import { ThresholdAnalyzer } from './threshold.js';
import { EvidenceAnalyzer } from './evidence/index.js';
import { LlmAnalyzer, resolveLlmSettings, type LlmCallLog } from './llm/index.js';
import { EnsembleAnalyzer } from './ensemble.js';

export const ANALYZER_NAMES = ['evidence', 'threshold', 'llm', 'ensemble'] as const;
export type AnalyzerName = (typeof ANALYZER_NAMES)[number];

/**
 * Builds the analyzer named on the command line or in `decision.analyzer`. `llmCalls`: the model calls made so
 * far, which llm.max_calls_per_hour counts (an analyzer built again must be handed the log of the one before).
 */
export function createAnalyzer(
  name: AnalyzerName,
  config: PhoenixConfig,
  options: { llmCalls?: LlmCallLog } = {},
): Analyzer {
  switch (name) {
    case 'evidence':
      return new EvidenceAnalyzer();
    case 'threshold':
      return new ThresholdAnalyzer();
    case 'llm':
      return new LlmAnalyzer(resolveLlmSettings(config), undefined, options.llmCalls);
    case 'ensemble':
      return new EnsembleAnalyzer(
        createAnalyzer('evidence', config),
        new LlmAnalyzer(resolveLlmSettings(config), undefined, options.llmCalls),
      );
    default:
      throw new Error(`unknown analyzer "${String(name)}"; use one of: ${ANALYZER_NAMES.join(', ')}`);
  }
}
