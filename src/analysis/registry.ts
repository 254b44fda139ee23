import type { PhoenixConfig } from '../config/index.js';
import type { Analyzer } from './analyzer.js';
import { ThresholdAnalyzer } from './threshold.js';

export const ANALYZER_NAMES = ['evidence', 'threshold', 'llm', 'ensemble'] as const;
export type AnalyzerName = (typeof ANALYZER_NAMES)[number];

/** Builds the analyzer named on the command line or in `decision.analyzer`. */
export function createAnalyzer(name: AnalyzerName, _config: PhoenixConfig): Analyzer {
  switch (name) {
    case 'threshold':
      return new ThresholdAnalyzer();
    default:
      throw new Error(`analyzer "${name}" is not available in this build; use one of: threshold`);
  }
}
