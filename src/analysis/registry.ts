import type { PhoenixConfig } from '../config/index.js';
import type { Analyzer } from './analyzer.js';
import { ThresholdAnalyzer } from './threshold.js';
import { EvidenceAnalyzer } from './evidence/index.js';
import { LlmAnalyzer, resolveLlmSettings } from './llm/index.js';
import { EnsembleAnalyzer } from './ensemble.js';

export const ANALYZER_NAMES = ['evidence', 'threshold', 'llm', 'ensemble'] as const;
export type AnalyzerName = (typeof ANALYZER_NAMES)[number];

/** Builds the analyzer named on the command line or in `decision.analyzer`. */
export function createAnalyzer(name: AnalyzerName, config: PhoenixConfig): Analyzer {
  switch (name) {
    case 'evidence':
      return new EvidenceAnalyzer();
    case 'threshold':
      return new ThresholdAnalyzer();
    case 'llm':
      return new LlmAnalyzer(resolveLlmSettings(config));
    case 'ensemble':
      return new EnsembleAnalyzer(
        createAnalyzer('evidence', config),
        new LlmAnalyzer(resolveLlmSettings(config)),
      );
    default:
      throw new Error(`unknown analyzer "${String(name)}"; use one of: ${ANALYZER_NAMES.join(', ')}`);
  }
}
